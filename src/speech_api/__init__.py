"""Speech API: text-to-speech to a public S3 URL and speech-to-text, behind one FastAPI app.

Importing the package is cheap: engines (ctranslate2, onnxruntime, torch) load on first use.
"""
