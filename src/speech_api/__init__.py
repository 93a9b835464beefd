"""Speech API: text-to-speech to a public S3 URL and speech-to-text, behind one FastAPI app.

Importing the package is cheap: engines (ctranslate2, onnxruntime, torch) load on first use.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("speech-api")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
