"""Numbers as words, in English and Spanish: cardinals, ordinals, years and digit strings.

A small implementation of our own rather than ``num2words`` (LGPL, and not in the light
Lambda layer): spoken-form text needs only these few forms, for two languages, and each is a
short rule. Beyond ``MAX_WORDED`` a number is read digit by digit (nobody says a 20-digit
number as words, and the rules stop at trillions)."""

from __future__ import annotations

from speech_api.errors import InvalidRequestError

MAX_WORDED = 10**15 - 1
# The most digits a number may have: longer ones are a 400. Past MAX_WORDED a number is read
# digit by digit (a googol's 101 digits, RSA-129's 129), about five characters of speech a
# digit, shared among a job's parts like any long word. int() refuses more than 4,300 digits
# (with a ValueError: a 500) and takes time quadratic in them.
MAX_DIGITS = 1_000


def integer(text: str) -> int:
    """int() of digits as written in the text (leading zeros do not count); a 400 past
    MAX_DIGITS. Every number read from a request goes through here."""
    if len(text.lstrip("0")) > MAX_DIGITS:
        raise InvalidRequestError(
            f"The text has a number of {len(text)} digits ('{text[:20]}...'); numbers may have "
            f"at most {MAX_DIGITS} digits. Put spaces in it, or leave it out.",
            param="text",
            code="word_too_long",
        )
    return int(text)


def words(text: str) -> tuple[str, ...]:
    """The words of a table written as one string."""
    return tuple(text.split())


_EN_ONES = words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_EN_TENS = words("_ _ twenty thirty forty fifty sixty seventy eighty ninety")
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_EN_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}

_ES_ONES = words(
    "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince "
    "dieciséis diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés "
    "veinticuatro veinticinco veintiséis veintisiete veintiocho veintinueve"
)
_ES_TENS = words("_ _ veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa")
_ES_HUNDREDS = words(
    "_ ciento doscientos trescientos cuatrocientos quinientos seiscientos setecientos "
    "ochocientos novecientos"
)
_ES_ORDINAL_UNITS = words("_ primero segundo tercero cuarto quinto sexto séptimo octavo noveno")
_ES_ORDINAL_TENS = words(
    "_ décimo vigésimo trigésimo cuadragésimo quincuagésimo sexagésimo septuagésimo "
    "octogésimo nonagésimo"
)
_DIGITS = {"en": _EN_ONES[:10], "es": _ES_ONES[:10]}


def digits(text: str, language: str = "en") -> str:
    """Each digit of ``text`` as a word ("2048" -> "two zero four eight"); other characters
    are left out (so are "²" and "①": digits to str.isdigit, not numbers)."""
    names = _DIGITS.get(language, _DIGITS["en"])
    return " ".join(names[int(ch)] for ch in text if ch.isdecimal())


SPELLED_RUN = 10


def spell(text: str, language: str = "en") -> str:
    """``text`` said character by character (SSML's characters and spell-out): each run of
    letters joined by full stops ("NASA" -> "N.A.S.A"), which voices read as letter names
    (between spaces espeak reads "A" as the article: "N A S A" was "en uh ess ay"), digits
    as their words, anything else as it is. Runs are cut every SPELLED_RUN letters, so that
    no spoken word grows with the text."""
    out: list[str] = []
    letters: list[str] = []
    for ch in text:
        if ch.isalpha():
            if len(letters) == SPELLED_RUN:
                out.append(".".join(letters))
                letters = []
            letters.append(ch)
            continue
        if letters:
            out.append(".".join(letters))
            letters = []
        if not ch.isspace():
            out.append(digits(ch, language) if ch.isdecimal() else ch)
    if letters:
        out.append(".".join(letters))
    return " ".join(out)


def cardinal(n: int, language: str = "en", *, gender: str = "m", before_noun: bool = False) -> str:
    """``n`` in words. Spanish agrees with what it counts: ``gender="f"`` ("una", "doscientas")
    and ``before_noun`` ("un euro", "veintiún libros" rather than "uno", "veintiuno")."""
    if n < 0:
        return ("menos " if language == "es" else "minus ") + cardinal(
            -n, language, gender=gender, before_noun=before_noun
        )
    if n > MAX_WORDED:
        return digits(str(n), language)
    if language == "es":
        return _es_cardinal(n, gender, before_noun)
    return _en_cardinal(n)


def ordinal(n: int, language: str = "en", *, gender: str = "m", before_noun: bool = False) -> str:
    """``n`` as an ordinal ("twenty-first", "vigésimo primero"). Spanish ordinals past 100 are
    rare in speech and read as cardinals, as Spanish speakers do."""
    if n > MAX_WORDED:  # as its cardinal: digit by digit
        return cardinal(n, language)
    if language == "es":
        return _es_ordinal(n, gender, before_noun)
    words = _en_cardinal(n)
    head, sep, last = words.rpartition(" ")
    head2, sep2, last2 = last.rpartition("-")
    if last2 in _EN_ORDINAL_IRREGULAR:
        last2 = _EN_ORDINAL_IRREGULAR[last2]
    elif last2.endswith("y"):
        last2 = last2[:-1] + "ieth"
    else:
        last2 += "th"
    return head + sep + head2 + sep2 + last2


def year(n: int, language: str = "en") -> str:
    """A year as it is said: "nineteen ninety-nine", "two thousand five", "twenty
    twenty-four" (Spanish says years as cardinals: "dos mil veinticuatro")."""
    if language == "es" or not 1000 <= n <= 2999:
        return cardinal(n, language)
    high, low = divmod(n, 100)
    if 2000 <= n <= 2009:
        return _en_cardinal(n)
    if low == 0:
        return f"{_en_cardinal(high)} hundred" if n % 1000 else _en_cardinal(n)
    if low < 10:
        return f"{_en_cardinal(high)} oh {_en_cardinal(low)}"
    return f"{_en_cardinal(high)} {_en_cardinal(low)}"


def _en_cardinal(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_EN_ONES[hundreds]} hundred" + (f" {_en_cardinal(rest)}" if rest else "")
    for scale, name in _EN_SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{_en_cardinal(high)} {name}" + (f" {_en_cardinal(rest)}" if rest else "")
    raise AssertionError(n)


def _es_cardinal(n: int, gender: str = "m", before_noun: bool = False) -> str:
    if n >= 10**12:
        high, rest = divmod(n, 10**12)
        head = "un billón" if high == 1 else f"{_es_cardinal(high, before_noun=True)} billones"
        return head + (f" {_es_cardinal(rest, gender, before_noun)}" if rest else "")
    if n >= 10**6:
        high, rest = divmod(n, 10**6)
        head = "un millón" if high == 1 else f"{_es_cardinal(high, before_noun=True)} millones"
        return head + (f" {_es_cardinal(rest, gender, before_noun)}" if rest else "")
    if n >= 1000:
        high, rest = divmod(n, 1000)
        # "mil", "dos mil", "veintiún mil" (and "doscientas mil" personas).
        head = "mil" if high == 1 else f"{_es_cardinal(high, gender, before_noun=True)} mil"
        return head + (f" {_es_cardinal(rest, gender, before_noun)}" if rest else "")
    if n >= 100:
        hundreds, rest = divmod(n, 100)
        if n == 100:
            return "cien"
        word = _ES_HUNDREDS[hundreds]
        if gender == "f" and hundreds > 1:
            word = word[:-2] + "as"
        return word + (f" {_es_cardinal(rest, gender, before_noun)}" if rest else "")
    if n < 30:
        word = _ES_ONES[n]
    else:
        tens, ones = divmod(n, 10)
        word = _ES_TENS[tens] + (f" y {_ES_ONES[ones]}" if ones else "")
    if word.endswith("uno"):
        if gender == "f":
            word = word[:-1] + "a"
        elif before_noun:
            word = "veintiún" if word == "veintiuno" else word[:-1]
    return word


def _es_ordinal(n: int, gender: str = "m", before_noun: bool = False) -> str:
    if not 0 < n < 100:
        return _es_cardinal(n, gender, before_noun)
    tens, ones = divmod(n, 10)
    if n == 11:
        words = ["undécimo"]
    elif n == 12:
        words = ["duodécimo"]
    else:
        words = [
            w
            for w in (
                _ES_ORDINAL_TENS[tens] if tens else "",
                _ES_ORDINAL_UNITS[ones] if ones else "",
            )
            if w
        ]
    if tens == 1 and ones and n not in (11, 12):
        words = ["decimo" + words[1]]  # decimotercero, decimonoveno
    if gender == "f":
        words = [w[:-1] + "a" for w in words]
    elif before_noun and words[-1] in ("primero", "tercero"):
        words[-1] = words[-1][:-1]  # "primer capítulo", "tercer piso"
    return " ".join(words)
