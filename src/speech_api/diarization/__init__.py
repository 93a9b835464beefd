"""Who said what: speaker windows, clustering and word-level labels, whatever the encoder.

`diarize` labels a transcript's segments; `reference_embedding` and the clusters' matching in
`references` name them after known speakers; `speech_regions` is the voice activity they use.
"""

from speech_api.diarization.pipeline import (
    Diarization,
    DiarizationOptions,
    diarize,
    speech_regions,
)
from speech_api.diarization.references import match_references, reference_embedding

__all__ = [
    "Diarization",
    "DiarizationOptions",
    "diarize",
    "match_references",
    "reference_embedding",
    "speech_regions",
]
