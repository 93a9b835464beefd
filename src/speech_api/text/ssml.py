"""SSML, as Amazon Polly takes it, read into a `Script`.

Supported: <speak> (root; ``xml:lang`` picks the spoken-form language), <p> (a paragraph: a
pause after it), <s> (a sentence), <break time|strength>, <prosody rate> (per span; other
prosody attributes are refused), <say-as interpret-as> (characters, spell-out, cardinal,
number, ordinal, digits, date with ``format``, time, telephone, unit), <sub alias> and
<phoneme alphabet="ipa" ph> (where the engine takes phonemes; checked by the caller). Any
other element is a 400 naming every unsupported one in the document: markup is never read
aloud and never dropped silently.

The parser is the standard library's expat, hardened: a DOCTYPE (and so any entity
declaration, internal or external) is refused as soon as it starts, parameter entities are
never parsed, undefined entities are an error, and elements nested deeper than
MAX_SSML_DEPTH stop the parse at that element. It never fetches anything and never expands
more than the document, so hostile documents fail in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from xml.parsers import expat

from speech_api.errors import InvalidRequestError
from speech_api.text import normalize
from speech_api.text.numbers import cardinal, digits, integer, ordinal, spell, year
from speech_api.text.script import (
    BREAK_STRENGTHS_S,
    PARAGRAPH_PAUSE_S,
    Pause,
    Script,
    Span,
    Token,
    Words,
    compact,
    end_sentence,
)

# Real SSML nests a few levels (speak > p > s > prosody > say-as); deeper is hostile.
MAX_SSML_DEPTH = 32
# Polly's limit for one <break time>.
MAX_BREAK_S = 10.0
# <prosody rate>: Polly's presets, and its range for percentages (20 %..200 %).
RATE_PRESETS = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "fast": 1.25, "x-fast": 1.5}
MIN_RATE, MAX_RATE = 0.2, 2.0
SUPPORTED_TAGS = ("speak", "p", "s", "break", "prosody", "say-as", "sub", "phoneme")
SAY_AS = (
    "characters",
    "spell-out",
    "cardinal",
    "number",
    "ordinal",
    "digits",
    "date",
    "time",
    "telephone",
    "unit",
)
_ALLOWED_ATTRIBUTES = {
    "speak": {"xml:lang", "version", "xmlns", "xmlns:amazon", "xmlns:xsi", "xsi:schemaLocation"},
    "p": {"xml:lang"},
    "s": {"xml:lang"},
    "break": {"time", "strength"},
    "prosody": {"rate"},
    # `format` is for dates only (refused on other kinds); `detail` changes nothing here.
    "say-as": {"interpret-as", "format"},
    "sub": {"alias"},
    "phoneme": {"alphabet", "ph"},
}
# Elements whose content is plain text only (their meaning is about that text).
_TEXT_ONLY = {"say-as", "sub", "phoneme", "break"}
# Elements that end a written word wherever they stand (the others are inline: text that
# touches them is one word with theirs).
_SEPARATE = {"speak", "p", "s", "break"}
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|ms)\s*$")
_DATE_FORMATS = ("mdy", "dmy", "ymd", "md", "dm", "ym", "my", "d", "m", "y")


def ssml_error(message: str, code: str = "invalid_ssml") -> InvalidRequestError:
    return InvalidRequestError(f"SSML: {message}", param="text", code=code)


@dataclass
class _Element:
    tag: str
    attributes: dict[str, str]
    rate: float
    language: str
    text: list[str] = field(default_factory=list)  # text-only elements collect it here
    joined: bool = False  # started mid-word: its token joins the word before it


def parse(document: str, *, language: str = "en", max_pause_s: float = float("inf")) -> Script:
    """The document's spans; InvalidRequestError (400) naming what is wrong. Pauses past
    ``max_pause_s`` in all stop the parse there (50,000 breaks are refused at the 61st)."""
    return _Reader(language, max_pause_s).read(document)


def too_much_silence(seconds: float, chars: int, bound: float) -> InvalidRequestError:
    return InvalidRequestError(
        f"The text asks for {seconds:.0f} s of silence or more (breaks and paragraph "
        f"pauses); a text of {chars} characters may add at most {bound:.0f} s.",
        param="text",
        code="too_much_silence",
    )


class _Reader:
    def __init__(self, language: str, max_pause_s: float = float("inf")):
        self.max_pause_s = max_pause_s
        self.pause_s = 0.0
        self.chars = 0
        self.default_language = language
        self.spans: list[Span] = []
        self.pending: list[Token] = []  # the current stretch's tokens (same rate)
        self.stack: list[_Element] = []
        self.unsupported: list[str] = []
        self.rate = 1.0
        self.root_language = language
        self.pause_due = False  # a paragraph ended: its pause comes before what follows
        # The last thing read was a word with no space after it yet: text or an element
        # that follows at once is part of that written word ('"<sub>WWW</sub>"').
        self.mid_word = False

    def read(self, document: str) -> Script:
        self.chars = len(document)
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        parser.EntityDeclHandler = self._refuse_entity
        parser.UnparsedEntityDeclHandler = self._refuse_entity
        parser.ExternalEntityRefHandler = self._refuse_external
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        parser.buffer_text = True
        try:
            parser.Parse(document, True)
        except expat.ExpatError as exc:
            raise ssml_error(
                f"the document is not well-formed XML ({expat.errors.messages[exc.code]}, "
                f"line {exc.lineno}, column {exc.offset + 1})."
            ) from None
        if self.unsupported:
            names = ", ".join(dict.fromkeys(self.unsupported))
            raise ssml_error(
                f"not supported here: {names}. Supported: "
                + ", ".join(f"<{t}>" for t in SUPPORTED_TAGS)
                + " (docs/narration.md).",
                code="unsupported_ssml",
            )
        self._flush()
        return Script(spans=compact(self.spans), language=self.root_language)

    # -- hardening ----------------------------------------------------------------------------

    def _refuse_doctype(self, *args) -> None:
        raise ssml_error("a DOCTYPE (and entity declarations) is not allowed.")

    def _refuse_entity(self, *args) -> None:
        raise ssml_error("entity declarations are not allowed.")

    def _refuse_external(self, *args) -> int:
        raise ssml_error("external entities are not allowed.")

    # -- elements -------------------------------------------------------------------------------

    def _start(self, tag: str, attributes: dict[str, str]) -> None:
        if len(self.stack) >= MAX_SSML_DEPTH:
            raise ssml_error(f"elements are nested deeper than {MAX_SSML_DEPTH} levels.")
        if not self.stack and tag != "speak":
            raise ssml_error(f"the document must start with <speak>, not <{tag}>.")
        if self.stack and tag == "speak":
            raise ssml_error("<speak> may only be the root element.")
        parent = self.stack[-1] if self.stack else None
        if parent is not None and parent.tag in _TEXT_ONLY:
            raise ssml_error(f"<{parent.tag}> may contain only text, not <{tag}>.")
        if tag not in SUPPORTED_TAGS:
            self.unsupported.append(f"<{tag}>")
        else:
            extra = sorted(set(attributes) - _ALLOWED_ATTRIBUTES[tag])
            self.unsupported += [f'<{tag} {name}="...">' for name in extra]
        language = _language(attributes.get("xml:lang")) or (
            parent.language if parent else self.default_language
        )
        if tag == "speak":
            self.root_language = language
        rate = parent.rate if parent else 1.0
        if tag == "prosody" and "rate" in attributes:
            self._flush()
            rate = min(MAX_RATE, max(MIN_RATE, rate * _rate(attributes["rate"])))
        if tag == "p":
            self._paragraph()
        if tag == "break":
            self._flush()
            self._pause(_break_s(attributes))
        if tag in _SEPARATE:
            self.mid_word = False
        self.stack.append(_Element(tag, attributes, rate, language, joined=self.mid_word))

    def _end(self, tag: str) -> None:
        element = self.stack.pop()
        if element.tag == "say-as":
            self._say_as(element)
        elif element.tag == "sub":
            self._sub(element)
        elif element.tag == "phoneme":
            self._phoneme(element)
        elif element.tag == "s":
            self._end_sentence()
        elif element.tag == "p":
            self._end_sentence()
            self._paragraph()
        elif element.tag == "prosody" and "rate" in element.attributes:
            self._flush()
        if element.tag in _SEPARATE:
            self.mid_word = False

    def _characters(self, data: str) -> None:
        element = self.stack[-1]
        if element.tag in _TEXT_ONLY:
            if element.tag == "break" and data.strip():
                raise ssml_error("<break> must be empty.")
            element.text.append(data)
            return
        tokens = normalize.tokens(data, element.language)
        if tokens and self.mid_word and not data[0].isspace():
            tokens[0] = replace(tokens[0], joined=True)
        self._add(tokens, element.rate)
        self.mid_word = bool(tokens) and not data[-1].isspace()

    # -- spans --------------------------------------------------------------------------------

    def _add(self, tokens: list[Token], rate: float) -> None:
        if not tokens:
            return
        if self.pending and self.rate != rate:
            self._flush()
        if self.pause_due:
            self._flush()
            self._pause(PARAGRAPH_PAUSE_S)
        self.rate = rate
        self.pending += tokens

    def _add_element(self, token: Token, element: _Element) -> None:
        """The one token a <say-as>, <sub> or <phoneme> reads as, joined to a word it
        follows with no space between; text right after it joins it in turn."""
        self._add([replace(token, joined=element.joined)], element.rate)
        self.mid_word = True

    def _pause(self, seconds: float) -> None:
        self.pause_due = False
        self.pause_s += seconds
        if self.pause_s > self.max_pause_s:
            raise too_much_silence(self.pause_s, self.chars, self.max_pause_s)
        self.spans.append(Pause(seconds))

    def _end_sentence(self) -> None:
        if self.pending:
            end_sentence(self.pending)
        elif self.spans and isinstance(self.spans[-1], Words):
            tokens = list(self.spans[-1].tokens)
            end_sentence(tokens)
            self.spans[-1] = Words(tuple(tokens), self.spans[-1].rate)

    def _flush(self) -> None:
        if self.pending:
            self.spans.append(Words(tuple(self.pending), self.rate))
            self.pending = []

    def _paragraph(self) -> None:
        """A paragraph starts or ends: a pause before whatever is said next."""
        self._flush()
        if any(isinstance(s, Words) for s in self.spans):
            self.pause_due = True

    def _sub(self, element: _Element) -> None:
        alias = element.attributes.get("alias")
        if alias is None:
            raise ssml_error("<sub> needs an alias attribute.")
        written = " ".join("".join(element.text).split())
        spoken = normalize.spoken_form(alias, element.language)
        self._add_element(Token(written, spoken), element)

    def _phoneme(self, element: _Element) -> None:
        alphabet = element.attributes.get("alphabet", "ipa")
        if alphabet != "ipa":
            raise ssml_error(
                f'<phoneme alphabet="{alphabet}"> is not supported: use alphabet="ipa".',
                code="unsupported_ssml",
            )
        ph = element.attributes.get("ph", "").strip()
        if not ph or "[" in ph or "]" in ph:
            raise ssml_error('<phoneme> needs a ph attribute with IPA phonemes (no "[" "]").')
        written = " ".join("".join(element.text).split())
        # No spaces inside: one written word, one phoneme block (words in it stay joined).
        self._add_element(Token(written, "[[" + "".join(ph.split()) + "]]", phonemes=True), element)

    def _say_as(self, element: _Element) -> None:
        kind = element.attributes.get("interpret-as", "")
        if kind not in SAY_AS:
            raise ssml_error(
                f'<say-as interpret-as="{kind}"> is not supported. Supported: '
                + ", ".join(SAY_AS)
                + ".",
                code="unsupported_ssml",
            )
        fmt = element.attributes.get("format")
        if fmt is not None and kind != "date":
            raise ssml_error(
                f'<say-as interpret-as="{kind}" format="{fmt}">: format is for dates only.',
                code="unsupported_ssml",
            )
        written = " ".join("".join(element.text).split())
        if not written:
            return
        spoken = _interpret(kind, written, fmt, element.language)
        self._add_element(Token(written, spoken), element)


def _language(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().lower().replace("_", "-").split("-")[0] or None


def _rate(value: str) -> float:
    value = value.strip().lower()
    if value in RATE_PRESETS:
        return RATE_PRESETS[value]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", value)
    if match is None:
        raise ssml_error(
            f'<prosody rate="{value}"> is not a rate: use x-slow, slow, medium, fast, x-fast '
            "or a percentage (20% to 200%)."
        )
    percent = float(match.group(1))
    if not 20 <= percent <= 200:
        raise ssml_error(f'<prosody rate="{value}"> is outside 20% to 200%.')
    return percent / 100


def _break_s(attributes: dict[str, str]) -> float:
    if "time" in attributes:
        match = _TIME.match(attributes["time"])
        if match is None:
            raise ssml_error(
                f'<break time="{attributes["time"]}"> is not a duration such as "3s" or "500ms".'
            )
        seconds = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
        if seconds > MAX_BREAK_S:
            raise ssml_error(
                f'<break time="{attributes["time"]}"> is longer than {MAX_BREAK_S:g}s, the '
                "most one break may last."
            )
        return seconds
    strength = attributes.get("strength", "medium")
    if strength not in BREAK_STRENGTHS_S:
        raise ssml_error(
            f'<break strength="{strength}"> is not one of {", ".join(BREAK_STRENGTHS_S)}.'
        )
    return BREAK_STRENGTHS_S[strength]


def _interpret(kind: str, text: str, fmt: str | None, language: str) -> str:
    """What <say-as> says for its text; a text that is not what it claims is a 400."""
    es = language == "es"
    if kind in ("characters", "spell-out"):
        return spell(text, language)
    if kind == "digits":
        if not any(ch.isdecimal() for ch in text):
            raise ssml_error(f'<say-as interpret-as="digits"> needs digits, not "{text}".')
        return digits(text, language)
    if kind in ("cardinal", "number", "ordinal"):
        parsed = normalize.parse_number(text, language)
        if parsed is None:
            raise ssml_error(f'<say-as interpret-as="{kind}"> needs a number, not "{text}".')
        whole, frac = parsed
        if kind != "ordinal":
            return normalize.number_words(text, language)
        if frac or whole < 0:
            raise ssml_error(f'<say-as interpret-as="ordinal"> needs a whole number: "{text}".')
        return ordinal(whole, "es" if es else "en")
    if kind == "telephone":
        groups = re.findall(r"\d+", text)
        if not groups:
            raise ssml_error(f'<say-as interpret-as="telephone"> needs digits, not "{text}".')
        said = ", ".join(digits(g, language) for g in groups)
        return ("más " if es else "plus ") + said if text.strip().startswith("+") else said
    if kind == "date":
        return _date(text, fmt, language)
    if kind in ("time", "unit"):
        # Alone, a time would end a sentence ("P.M."): the text around it decides that.
        spoken = normalize.spoken_form(text, language).rstrip(".")
        if spoken == text and not any(ch.isalpha() for ch in text):
            raise ssml_error(f'<say-as interpret-as="{kind}"> could not read "{text}".')
        return spoken
    raise AssertionError(kind)


def _date(text: str, fmt: str | None, language: str) -> str:
    es = language == "es"
    fmt = fmt or ("dmy" if es else "mdy")
    if fmt not in _DATE_FORMATS:
        raise ssml_error(
            f'<say-as interpret-as="date" format="{fmt}"> is not one of '
            + ", ".join(_DATE_FORMATS)
            + "."
        )
    fields = re.findall(r"\d+", text)
    if len(fields) != len(fmt):
        raise ssml_error(
            f'<say-as interpret-as="date" format="{fmt}"> needs {len(fmt)} number(s), not "{text}".'
        )
    values = dict(zip(fmt, (integer(f) for f in fields), strict=True))
    if not 1 <= values.get("m", 1) <= 12 or not 1 <= values.get("d", 1) <= 31:
        raise ssml_error(f'<say-as interpret-as="date"> "{text}" is not a date ({fmt}).')
    lang = "es" if es else "en"
    month = normalize.month_name(values["m"], lang) if "m" in values else None
    y = values.get("y")
    if y is not None and y < 100:
        y += 2000 if y < 50 else 1900
    said_year = year(y, lang) if y is not None else None
    if es:
        parts = []
        if "d" in values:
            parts.append(cardinal(values["d"], "es"))
        if month:
            parts.append(month)
        if said_year:
            parts.append(said_year)
        return " de ".join(parts)
    if "d" in values and month:
        said = f"{month} {ordinal(values['d'])}"
        return f"{said}, {said_year}" if said_year else said
    if month:
        return f"{month} {said_year}" if said_year else month
    if "d" in values:
        return f"the {ordinal(values['d'])}"
    return said_year or ""
