"""Fixtures shared by the tests and the benchmarks (not shipped): the dev clips, sentence lists,
WER, a Coqui model built with random weights, Lambda events and context as AWS sends them."""
