"""What the voice is given for fiction's dialogue and history's names: stutters, interjections
of consonants, words shouted or stressed in capitals, regnal numerals, "IV" and "WWII" (each
pair checked by ear-proxy: espeak-ng's phonemes for the spoken form say the sound, not the
letters' names)."""

import pytest

from speech_api.text.normalize import spoken_form

ENGLISH = [
    # Stutters: the word said again after a catch, not its letters named ("double-u what").
    ('"W-what do you mean?"', '"What, what do you mean?"'),
    ("B-but I thought so,", "But, but I thought so,"),
    ("S-sorry! Th-that's mine. D-don't go.", "Sorry, sorry! That's, that's mine. Don't, don't go."),
    ("W-w-what? I s-said no. Wh-where?", "What, what, what? I said, said no. Where, where?"),
    ("W-w-w-w-what?", "What, what, what?"),  # at most three
    ("B-BUT WHY?", "BUT, BUT why?"),
    # "I-I" is a word espeak says twice; hyphenated words are no stutters.
    ("I-I don't know.", "I-I don't know."),
    (
        "X-ray T-shirt e-mail A-list U-turn K-pop B-movie",
        "X-ray T-shirt e-mail A-list U-turn K-pop B-movie",
    ),
    (
        "D-Day, a t-test, a C-clamp, an S-shaped curve, re-read, co-counsel, so-so, uh-uh",
        "D-Day, a t-test, a C-clamp, an S-shaped curve, re-read, co-counsel, so-so, uh-uh",
    ),
    # Interjections of consonants only, any number of each letter.
    ('"Shh! They\'ll hear us." Shhhh. Ssh.', '"Sch! They\'ll hear us." Sch. Sch.'),
    ("Mmm, delicious. Mm. Mm-hmm, Mhm.", "Hmm, delicious. Hmm. Um-hmm, Um-hmm."),
    ("Hm. Hmm. Hmmmm. Hmph! Pfft. Pff.", "Hmm. Hmm. Hmm. Hmpf! Pift. Pift."),
    ("Grr, Grrrr, Brrr, Psst! Pssst!", "Gurr, Gurr, Burr, Psst! Psst!"),
    ("It measured in mm, at 5 PST.", "It measured in mm, at five PST."),  # a unit, an acronym
    # Shouting: a run of three or more words in capitals says IT and US as words; its other
    # words stay in capitals, which espeak reads as words there (lowered, the words left in
    # capitals were spelled: "the cat SAT" S A T), and a sentence starts with a capital.
    ("STOP IT NOW!", "STOP it NOW!"),
    ("LEAVE US ALONE! THE US ARMY WON.", "LEAVE us ALONE! THE US ARMY WON."),
    ("THE CAT SAT ON THE MAT. I did NOT say that. YOU did.",
     "THE CAT SAT ON THE MAT. I did not say that. You did."),
    # A short word in capitals among lowercase words is stress, not an acronym.
    (
        "It was a BIG mistake. I did NOT do it, it was HIS fault.",
        "It was a big mistake. I did not do it, it was his fault.",
    ),
    (
        "the IT department, Leave US alone, the FBI, the SAT, LED lights, Columbus, OH",
        "the IT department, Leave US alone, the FBI, the SAT, LED lights, Columbus, OH",
    ),
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
    ("—N-no puedo —tartamudeó.", "—No, no puedo —tartamudeó."),
    ("P-por favor, y-yo no sé.", "Por, por favor, yo, yo no sé."),
    ("—¡Mmm! —Shh, calla. —¡Psst!", "—¡Umm! —Chsss, calla. —¡Pist!"),
    ("Hmm. Pfff. Grrr. Mjm. Hmph.", "Umm. Puf. Gurr. Um-jum. Jum."),
    ("Es un error y es MUY malo, no es MI culpa.", "Es un error y es muy malo, no es mi culpa."),
    ("la ONU dijo", "la ONU dijo"),
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


def test_a_shouted_word_keeps_its_written_form_for_captions():
    from speech_api.text.normalize import tokens

    said = tokens("STOP IT NOW! W-what?", "en")
    assert [t.written for t in said] == ["STOP", "IT", "NOW!", "W-what?"]
    assert [t.spoken for t in said] == ["STOP", "it", "NOW!", "What, what?"]
