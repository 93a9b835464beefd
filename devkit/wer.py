"""Word error rate after the normalization the speech-dev README asks for."""

from __future__ import annotations

import re
import unicodedata

import jiwer


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[-\u2013\u2014/]", " ", text)  # hyphenated words count as separate words
    text = re.sub(r"[^\w\s']", "", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", "", text)  # quotes, not apostrophes inside words
    return re.sub(r"\s+", " ", text).strip()


def corpus_wer(references: list[str], hypotheses: list[str]) -> float:
    """Corpus-level WER: total edits over total reference words."""
    return jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses])
