"""CTranslate2's Whisper with a check before each step (encode, language detection, generate,
alignment): a transcription whose client has gone, or that is past its time limit, stops at
its next decoder call (`work_limits`) instead of running to the end of the audio.

CTranslate2 offers no callback inside a `generate` call, so a step is one call: at worst one
window decoded at one temperature (a few seconds on CPU) past the moment the work should stop.
A decode that turns pathological (every temperature of the fallback schedule, on every window)
is a long sequence of such calls, each of them checked."""

from __future__ import annotations

from speech_api.work_limits import check_work

_CHECKED = frozenset({"encode", "generate", "detect_language", "align"})


class CheckedWhisper:
    """Stands in for `ctranslate2.models.Whisper` (faster-whisper's ``model.model``)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name: str):
        value = getattr(self._inner, name)
        if name not in _CHECKED:
            return value

        def checked(*args, **kwargs):
            check_work()
            return value(*args, **kwargs)

        return checked
