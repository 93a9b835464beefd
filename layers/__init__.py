"""The Lambda layers the stack deploys (one folder each) and how they are built.

- `light/`: the dependencies of the zip functions that load no model (the `Api` function: health,
  uploads, transcripts, models, docs, the playground). `requirements.txt` names what their code
  imports; the versions are requirements.lock's.
- `build.py`: installs a layer's requirements for Lambda's platform (Python 3.11 on Amazon
  Linux 2, x86_64 or arm64) with pip's cross-platform options, without Docker, and caches the
  result; CDK's bundling calls it during `cdk synth` (infra/constructs/packages.py).
"""
