"""What fits in Whisper's decoder prompt, checked before any decoding.

Whisper's decoder has ``max_length`` (448) positions for the prompt *and* the text it writes.
faster-whisper builds each window's prompt as ``<|startofprev|>``, the hotwords
(`keywords[]`, cut by the library at 223 tokens), the previous text (the caller's `prompt` on
the first window, then the text decoded so far: the library keeps its last 223 tokens), and
the start sequence (``<|startoftranscript|>``, language and task on multilingual models).
Hotwords near their cap plus a full previous text come to 450 positions: CTranslate2 raises
(a 500 for a valid-looking request), and a prompt just under 448 leaves the decoder no room
to write the window's text (a transcript cut short without a word).

So a request is refused up front (400, naming `keywords` or `prompt`) unless its worst-case
prompt leaves ``MIN_DECODE_TOKENS`` positions to decode into, on every window: on audio longer
than one window, the previous-text slot may fill to its cap whatever the caller's prompt.
"""

from __future__ import annotations

from speech_api.errors import InvalidRequestError

# Positions kept free for the text of one 30 s window: dense speech is about 90 words (110
# tokens) plus a timestamp pair per segment.
MIN_DECODE_TOKENS = 128
# Whisper's audio window, in 16 kHz samples: longer audio is decoded in several windows.
WINDOW_SAMPLES = 30 * 16_000


def check_decoder_prompt(
    *,
    max_length: int,
    start_tokens: int,
    hotword_tokens: int,
    prompt_tokens: int,
    several_windows: bool,
) -> None:
    """Raise InvalidRequestError when the decoder prompt could crowd out (or overflow) the
    decoder. ``start_tokens``: the start sequence's length (3 multilingual, 1 English-only);
    ``several_windows``: the audio may span more than one window."""
    slot = max_length // 2 - 1  # what the library keeps of hotwords, and of previous text
    if hotword_tokens > slot:
        raise InvalidRequestError(
            f"keywords[] come to {hotword_tokens} tokens; the model takes {slot}. Send fewer "
            "or shorter keywords.",
            param="keywords",
            code="keywords_too_long",
        )
    # <|startofprev|>, the start sequence, and a timestamp token.
    fixed = 1 + start_tokens + 1
    budget = max_length - MIN_DECODE_TOKENS - fixed
    previous = slot if several_windows else min(prompt_tokens, slot)
    if hotword_tokens + previous <= budget:
        return
    if hotword_tokens == 0:  # cannot happen with today's sizes: the prompt alone always fits
        raise InvalidRequestError(
            f"prompt comes to {prompt_tokens} tokens; at most {budget} fit.",
            param="prompt",
            code="prompt_too_long",
        )
    if several_windows or prompt_tokens == 0:
        # The previous text takes its whole slot on later windows: only keywords can give.
        room = budget - previous
        raise InvalidRequestError(
            f"keywords[] come to {hotword_tokens} tokens; with the text Whisper carries from "
            f"one 30 s window to the next ({previous} tokens) at most {room} fit in its "
            f"{max_length}-token decoder and leave {MIN_DECODE_TOKENS} for the transcript. "
            "Send fewer or shorter keywords.",
            param="keywords",
            code="keywords_too_long",
        )
    raise InvalidRequestError(
        f"prompt ({min(prompt_tokens, slot)} tokens used) and keywords[] ({hotword_tokens} "
        f"tokens) together come to more than the {budget} tokens that fit in Whisper's "
        f"{max_length}-token decoder with {MIN_DECODE_TOKENS} left for the transcript. Shorten "
        "the prompt or send fewer keywords.",
        param="prompt",
        code="prompt_too_long",
    )
