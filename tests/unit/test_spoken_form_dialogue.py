"""What the voice is given for history's names: regnal numerals, "IV" and "WWII" (each pair
checked by ear-proxy: espeak-ng's phonemes for the spoken form say the words, not the
letters' names or "roman four")."""

import pytest

from speech_api.text.normalize import spoken_form

ENGLISH = [
    # Regnal "I": the numeral before what tells of a reign or before punctuation.
    ("Charles I was executed in 1649.", "Charles the first was executed in sixteen forty-nine."),
    (
        "Elizabeth I never married. Charles I of England.",
        "Elizabeth the first never married. Charles the first of England.",
    ),
    (
        "Charles I, king of England. Charles I's head.",
        "Charles the first, king of England. Charles the first's head.",
    ),
    ("when George I saw it", "when George I saw it"),
    ("Henry VIII's wives", "Henry the eighth's wives"),
    # Rulers of antiquity.
    (
        "Ramses II, Amenhotep III, Thutmose III, Cyrus II, Darius I ruled. Xerxes I died.",
        "Ramses the second, Amenhotep the third, Thutmose the third, Cyrus the second, Darius the "
        "first ruled. Xerxes the first died.",
    ),
    (
        "Nebuchadnezzar II, Seti I, Sesostris III, Artaxerxes II, Antiochus IV",
        "Nebuchadnezzar the second, Seti the first, Sesostris the third, Artaxerxes the second, "
        "Antiochus the fourth",
    ),
    # IV: intravenous, as letters, but after a context word or a monarch.
    (
        "He was given IV fluids. An IV drip. Give 5 mg IV now.",
        "He was given I.V fluids. An I.V drip. Give five milligrams I.V now.",
    ),
    (
        "Start IV antibiotics. Stage IV cancer, Chapter IV, Henry IV and Rocky IV.",
        "Start I.V antibiotics. Stage four cancer, Chapter four, Henry the fourth and Rocky four.",
    ),
    # The World Wars.
    (
        "WWII veterans gathered. WWI began. WW2-era jeeps, WWII's end.",
        "World War Two veterans gathered. World War One began. World War Two-era jeeps, World War "
        "Two's end.",
    ),
]  # fmt: skip

SPANISH = [
    ("Juan Pablo II visitó España.", "Juan Pablo segundo visitó España."),
    ("Ramsés II gobernó Egipto.", "Ramsés segundo gobernó Egipto."),
    (
        "Benedicto XVI renunció. Pío XII. Catalina II de Rusia.",
        "Benedicto dieciséis renunció. Pío doce. Catalina segunda de Rusia.",
    ),
    ("Juan Carlos I. El rey abdicó.", "Juan Carlos primero. El rey abdicó."),
    ("La WWII terminó.", "La Segunda Guerra Mundial terminó."),
]  # fmt: skip


@pytest.mark.parametrize(("written", "spoken"), ENGLISH)
def test_english_dialogue_and_names(written, spoken):
    assert spoken_form(written, "en") == spoken


@pytest.mark.parametrize(("written", "spoken"), SPANISH)
def test_spanish_dialogue_and_names(written, spoken):
    assert spoken_form(written, "es") == spoken
