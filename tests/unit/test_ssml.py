"""SSML read as Polly takes it: what each supported tag does to the script, unsupported
markup refused by name, and hostile documents refused at once."""

import time

import pytest

from speech_api.errors import InvalidRequestError
from speech_api.text import Pause, Words, read
from speech_api.text.ssml import MAX_SSML_DEPTH


def ssml(body: str, **attributes) -> str:
    attrs = "".join(f' {k.replace("_", ":")}="{v}"' for k, v in attributes.items())
    return f"<speak{attrs}>{body}</speak>"


def refused(document: str) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        read(document, "ssml")
    assert caught.value.param == "text"
    return caught.value


def test_breaks_become_pauses_of_their_time_or_strength():
    document = ssml('One <break time="1500ms"/> two <break strength="x-strong"/> three')
    script = read(document, "ssml")
    kinds = [(type(s).__name__, getattr(s, "seconds", None)) for s in script.spans]
    assert kinds == [("Words", None), ("Pause", 1.5), ("Words", None), ("Pause", 1.0),
                     ("Words", None)]  # fmt: skip


def test_prosody_rate_applies_to_its_span_only():
    script = read(ssml('Normal <prosody rate="slow">slower</prosody> <prosody rate="150%">'
                       "faster</prosody> normal"), "ssml")  # fmt: skip
    rates = [(s.written, s.rate) for s in script.spans if isinstance(s, Words)]
    assert rates == [("Normal", 1.0), ("slower", 0.8), ("faster", 1.5), ("normal", 1.0)]


def test_say_as_sub_and_phoneme_keep_the_written_word_and_say_another():
    script = read(
        ssml(
            '<say-as interpret-as="characters">NASA</say-as> '
            '<say-as interpret-as="cardinal">1234</say-as> '
            '<say-as interpret-as="ordinal">3</say-as> '
            '<say-as interpret-as="digits">2048</say-as> '
            '<say-as interpret-as="date" format="dmy">15/03/2024</say-as> '
            '<say-as interpret-as="time">3:30 pm</say-as> '
            '<say-as interpret-as="telephone">+1 555 123 4567</say-as> '
            '<say-as interpret-as="unit">5 km</say-as> '
            '<sub alias="World Wide Web">WWW</sub> '
            '<phoneme alphabet="ipa" ph="təˈmeɪtoʊ">tomato</phoneme>'  # noqa: RUF001
        ),
        "ssml",
    )
    pairs = [(t.written, t.spoken) for s in script.spans for t in s.tokens]
    assert pairs == [
        ("NASA", "N.A.S.A"),
        ("1234", "one thousand two hundred thirty-four"),
        ("3", "third"),
        ("2048", "two zero four eight"),
        ("15/03/2024", "March fifteenth, twenty twenty-four"),
        ("3:30 pm", "three thirty P.M"),
        ("+1 555 123 4567", "plus one, five five five, one two three, four five six seven"),
        ("5 km", "five kilometers"),
        ("WWW", "World Wide Web"),
        ("tomato", "[[təˈmeɪtoʊ]]"),  # noqa: RUF001
    ]


def test_speak_language_picks_the_spoken_form():
    script = read(ssml("Cuesta 3,50 €", xml_lang="es-ES"), "ssml", language="en")
    assert script.language == "es"
    assert script.spoken == "Cuesta tres euros con cincuenta céntimos"


def test_sentences_and_paragraphs_end_and_pause():
    script = read(ssml("<p><s>First line</s><s>Second line</s></p><p>Next</p>"), "ssml")
    assert script.spoken == "First line. Second line. Next."
    assert [type(s) for s in script.spans] == [Words, Pause, Words]


def test_every_unsupported_tag_and_attribute_is_named():
    error = refused(
        ssml(
            '<emphasis>a</emphasis><amazon:effect name="whispered">b</amazon:effect>'
            '<prosody volume="loud">c</prosody><mark name="m"/>'
        )
    )
    assert error.code == "unsupported_ssml"
    for name in ("<emphasis>", "<amazon:effect>", '<prosody volume="...">', "<mark>"):
        assert name in error.message


@pytest.mark.parametrize(
    ("document", "code", "says"),
    [
        ("plain words", "invalid_ssml", "not well-formed"),
        ("<p>x</p>", "invalid_ssml", "must start with <speak>"),
        ('<speak><break time="11s"/>x</speak>', "invalid_ssml", "longer than 10s"),
        ('<speak><break time="soon"/>x</speak>', "invalid_ssml", "not a duration"),
        ('<speak><prosody rate="500%">x</prosody></speak>', "invalid_ssml", "20% to 200%"),
        ('<speak><say-as interpret-as="expletive">x</say-as></speak>', "unsupported_ssml",
         "expletive"),
        ('<speak><say-as interpret-as="cardinal">many</say-as></speak>', "invalid_ssml",
         "needs a number"),
        ('<speak><phoneme alphabet="x-sampa" ph="t@">x</phoneme></speak>', "unsupported_ssml",
         "x-sampa"),
        ("<speak><sub>x</sub></speak>", "invalid_ssml", "alias"),
        ('<speak><say-as interpret-as="digits"><s>1</s></say-as></speak>', "invalid_ssml",
         "only text"),
        ("<speak><break/></speak>", "no_speech", "nothing to speak"),
        # Were accepted and ignored (a parameter not honoured is a 400 naming it):
        ('<speak><say-as interpret-as="cardinal" detail="2">12</say-as></speak>',
         "unsupported_ssml", '<say-as detail="...">'),
        ('<speak><say-as interpret-as="cardinal" format="zz">12</say-as></speak>',
         "unsupported_ssml", "format is for dates only"),
    ],
)  # fmt: skip
def test_invalid_documents_say_what_is_wrong(document, code, says):
    error = refused(document)
    assert error.code == code and says in error.message


HOSTILE = {
    "billion laughs": '<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "ha">'
    + "".join(f'<!ENTITY a{i} "{"&a;" * 10 if i == 0 else f"&a{i - 1};" * 10}">' for i in range(9))
    + "]><speak>&a8;</speak>",
    "external entity": '<!DOCTYPE speak [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<speak>&x;</speak>",
    "external DTD": '<!DOCTYPE speak SYSTEM "http://169.254.169.254/latest/meta-data/">'
    "<speak>x</speak>",
    "parameter entity": '<!DOCTYPE speak [<!ENTITY % p SYSTEM "http://example.com/x">%p;]>'
    "<speak>x</speak>",
    "undefined entity": "<speak>&nbsp;</speak>",
    "nested 10,000 deep": "<speak>" + "<s>" * 10_000 + "x" + "</s>" * 10_000 + "</speak>",
    "nested prosody 10,000 deep": "<speak>"
    + '<prosody rate="fast">' * 10_000
    + "x"
    + "</prosody>" * 10_000
    + "</speak>",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_documents_are_refused_within_a_second(name):
    started = time.perf_counter()
    error = refused(HOSTILE[name])
    assert time.perf_counter() - started < 1.0
    assert error.code == "invalid_ssml" and error.status_code == 400


def test_nesting_is_refused_past_the_depth_limit_and_allowed_below_it():
    deep = "<speak>" + "<s>" * (MAX_SSML_DEPTH - 1) + "x" + "</s>" * (MAX_SSML_DEPTH - 1)
    assert read(deep + "</speak>", "ssml").spoken.startswith("x")
    assert "deeper" in refused("<speak><s>" + deep[7:] + "</s></speak>").message


@pytest.mark.parametrize("breaks", [9_000, 50_000])
def test_silence_is_bounded_by_the_text(breaks):
    # 50,000 ten-second breaks would be 139 hours of silence (9,000 fit in a job's 200,000
    # characters).
    document = ssml('<break time="10s"/>' * breaks + "x")
    started = time.perf_counter()
    error = refused(document)
    assert error.code == "too_much_silence"
    assert time.perf_counter() - started < 1.0
    # As many as the bound allows are fine (10 minutes for a short text).
    assert read(ssml('<break time="10s"/>' * 60 + "x"), "ssml").pause_s == 600


def test_letters_are_spelled_as_their_names():
    """Letters between spaces ("N A S A") were read by espeak with "A" as the article
    ("en uh ess ay"); joined by full stops a voice says each letter's name."""
    spoken = read(ssml('<say-as interpret-as="spell-out">abc</say-as> A1'), "ssml").spoken
    assert spoken == "a.b.c A1"
    long = read(ssml(f'<say-as interpret-as="characters">{"x" * 45}</say-as>'), "ssml").spoken
    assert long.split() == ["x" + ".x" * 9] * 4 + ["x.x.x.x.x"]


@pytest.mark.parametrize(
    ("body", "written", "spoken"),
    [
        ('said "<sub alias="World Wide Web">WWW</sub>" twice', 'said "WWW" twice',
         'said "World Wide Web" twice'),
        ("the <say-as interpret-as=\"characters\">FBI</say-as>'s boss", "the FBI's boss",
         "the F.B.I's boss"),
        ('<say-as interpret-as="digits">2048</say-as>!', "2048!", "two zero four eight!"),
        ('<sub alias="x">y</sub> <sub alias="z">w</sub>', "y w", "x z"),
        ('<p>one</p><p>two</p>', "one two", "one. two."),
        ('re<phoneme ph="ˈæd">ad</phoneme>', "read", "re [[ˈæd]]"),  # noqa: RUF001
    ],
)  # fmt: skip
def test_text_touching_an_element_is_one_written_word(body, written, spoken):
    """Element boundaries cut words: captions showed 'said "', 'WWW "', and the voice was
    given "F B I 's" (read "eye ess"). Phonemes stay a block of their own for the voice."""
    script = read(ssml(body), "ssml")
    words = [s for s in script.spans if isinstance(s, Words)]
    assert " ".join(w.written for w in words) == written
    assert script.spoken == spoken
