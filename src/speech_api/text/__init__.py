"""Text before it is spoken: plain text (with Markdown) or SSML read into a `Script` of
stretches of speech and pauses, each word with its written and its spoken form."""

from speech_api.text.read import TEXT_TYPES, read, voice_language
from speech_api.text.script import Pause, Script, Token, Words

__all__ = ["TEXT_TYPES", "Pause", "Script", "Token", "Words", "read", "voice_language"]
