"""Fixtures shared by the tests and the benchmarks (not shipped): the dev clips, sentence lists,
WER, stand-ins for engine weights that cannot be downloaded here (stand_ins.py), Lambda events
and context as AWS sends them."""
