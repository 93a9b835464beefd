"""Text a hostile or careless writer sends: it is read in bounded time, as words, or refused
with a 400 that says why; never a 500, never minutes of one request, never engine syntax."""

from __future__ import annotations

import time

import pytest

from speech_api.errors import InvalidRequestError
from speech_api.text import markdown, read
from speech_api.text.parts import from_json, split, to_json
from speech_api.text.script import Words

N = 200_000  # the longest job text

# Each was quadratic in the regex that read it (seconds at 20,000 characters, minutes at
# 200,000, the GIL held: every other request of the server waited).
UNCLOSED = {
    "brackets": "[" * N,
    "images": "![" * (N // 2),
    "links without their URL's end": "[a](x" * (N // 5),
    "autolinks": "<http://a" * (N // 9),
    "comments": "<!--" * (N // 4),
    "emphasis": "*a " * (N // 3),
    "underscores": "_a " * (N // 3),
    "strikethrough": "~~a " * (N // 4),
    "backticks": "x " + "`" * N,
    "a table rule and spaces": "---" + " " * N + "x",
    "a heading and spaces": "# a" + " " * N + "b",
}


@pytest.mark.parametrize("text", UNCLOSED.values(), ids=UNCLOSED)
def test_unclosed_markdown_is_read_in_linear_time(text):
    started = time.perf_counter()
    markdown.paragraphs(text)
    assert time.perf_counter() - started < 2.0  # linear: 0.01-0.3 s; quadratic: minutes


# Quadratic in the trailing-punctuation pattern each word is read with (84 s at 200,000).
TRAILING = {
    "parentheses": ")" * N + "a",
    "in SSML": "<speak>" + ")" * N + "a</speak>",
    # An abbreviation's form was looked for at every length of the word (3.2 s at 200,000).
    "after an abbreviation": "Ph.D." + ",;" * (N // 2),
    "after a capitalized abbreviation": "I.e." + "," * N,
}


@pytest.mark.parametrize("text", TRAILING.values(), ids=TRAILING)
def test_a_long_run_of_punctuation_is_refused_in_linear_time(text):
    started = time.perf_counter()
    with pytest.raises(InvalidRequestError) as refused:
        read(text, "ssml" if text.startswith("<speak>") else "text")
    assert time.perf_counter() - started < 2.0  # linear: 0.05 s
    assert refused.value.code == "word_too_long"


def test_a_word_of_200000_characters_full_of_ellipses_is_read_in_linear_time():
    """Each ellipsis of a word is said as a pause by looking at what comes before and after
    it in the word: done by joining the word's pieces again, it took 18 s."""
    started = time.perf_counter()
    script = read("a...b..." * (N // 8))
    assert time.perf_counter() - started < 2.0  # linear: 0.2 s
    assert script.spoken.startswith("a, b, a, b, ")


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("W-" * (N // 2 - 2) + "what", "What, what, what"),  # a stutter says three at most
        ("Sh" + "h" * N, "Sch"),
        ("H" + "m" * N + "ph", "Hmpf"),
        ("STOP IT " * (N // 8), "STOP it " * (N // 8 - 1) + "STOP it"),
    ],
    ids=["a stutter", "an interjection", "another", "shouting"],
)
def test_dialogue_of_200000_characters_is_read_in_linear_time(text, spoken):
    """A stutter's repeats, an interjection's letters and a run of words in capitals are
    each looked at once."""
    started = time.perf_counter()
    script = read(text)
    assert time.perf_counter() - started < 2.0  # linear: 0.05-0.5 s
    assert script.spoken == spoken


def test_a_long_run_of_full_stops_is_one_pause_read_in_linear_time():
    """200,000 full stops before a word are an ellipsis: no word of dots is said or
    refused, and reading it stays linear (its trailing-punctuation pattern took 84 s)."""
    started = time.perf_counter()
    script = read("x " + "." * N + "a")
    assert time.perf_counter() - started < 2.0  # linear: 0.05 s
    assert script.spoken == "x a"


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("**bold *italic***", "bold italic"),
        ("*italic **bold***", "italic bold"),
        ("**Total: 5 * 4 = 20**", "Total: five times four equals twenty"),
        ("_file_name.txt_ is here", "file_name.txt is here"),
        ('A [link](https://x.com "Title (draft)") here.', "A link here."),
        ("### Results ###", "Results."),
        ("## Heading with # inside", "Heading with number inside."),
        ("See [the page](https://en.wikipedia.org/wiki/Foo_(bar)) now.", "See the page now."),
        ('A [link](https://x.com "Title") here.', "A link here."),
        ("Some **bold *and italic* text** here.", "Some bold and italic text here."),
        ("~~gone~~ and _it_ and ***all***", "gone and it and all"),
        ("Run ``make serve`` now.", "Run make serve now."),
        ("![alt text](img.png) shown", "alt text shown"),
        ("A <!-- hidden --> note.", "A note."),
    ],
)
def test_markdown_read_in_linear_time_still_reads_as_before(written, spoken):
    assert read(written).spoken == spoken


@pytest.mark.parametrize(
    ("text", "text_type"),
    [
        ("Order number " + "7" * 4_301 + " shipped.", "text"),  # int() refuses 4,301 digits
        ("The " + "1" * 4_301 + "th visitor.", "text"),
        ("A total of 1" + ",000" * 1_500 + " points.", "text"),
        ("Order " + "7" * 1_001 + " shipped.", "text"),
        ('<speak><say-as interpret-as="cardinal">' + "7" * 4_400 + "</say-as></speak>", "ssml"),
        ('<speak><say-as interpret-as="date">' + "1" * 5_000 + "-1-1</say-as></speak>", "ssml"),
    ],
    ids=["4,301 digits", "4,301-digit ordinal", "4,501 digits in groups", "1,001 digits",
         "say-as cardinal", "say-as date"],
)  # fmt: skip
def test_numbers_past_1000_digits_are_a_400_that_says_so(text, text_type):
    with pytest.raises(InvalidRequestError) as refused:
        read(text, text_type)
    assert (refused.value.code, refused.value.param) == ("word_too_long", "text")
    assert "digits" in refused.value.message and "at most 1000" in refused.value.message


def test_long_numbers_are_read_digit_by_digit():
    assert read("Code " + "9" * 100 + ".").spoken == "Code " + " ".join(["nine"] * 100) + "."
    googol = read("A googol is 1" + "0" * 100 + ".").spoken  # 101 digits
    assert googol == "A googol is one " + " ".join(["zero"] * 100) + "."
    assert read("Serial " + "0" * 10 + "7" * 995 + ".").spoken.count("seven") == 995


def test_ordinals_past_the_worded_range_are_read_digit_by_digit():
    spoken = read("The 10000000000000000th visitor.").spoken
    assert spoken == "The one " + " ".join(["zero"] * 16) + " visitor."


def test_digits_that_are_not_decimal_are_not_read_as_numbers():
    # "²" and "①" are digits to str.isdigit but not to int(): they were a 500.
    document = (
        '<speak>Code <say-as interpret-as="digits">2²①</say-as>, room '
        '<say-as interpret-as="characters">m²</say-as>, and '
        '<say-as interpret-as="digits">٣٤</say-as>.</speak>'
    )
    assert read(document, "ssml").spoken == "Code two, room m ², and three four."
    assert read("Item #²").spoken


def test_double_brackets_in_text_are_read_as_words_not_fed_to_the_voice_as_phonemes():
    # Piper takes any [[...]] in its text as IPA, past the check <phoneme> gets.
    script = read("Read [[Main Page]] and the note [[[1]]] first.")
    assert script.spoken == "Read [Main Page] and the note [one] first."
    assert not script.has_phonemes
    ph = "t\u0259m\u02c8e\u026ato\u028a"  # IPA for "tomato"
    ssml = read(f'<speak>Say <phoneme alphabet="ipa" ph="{ph}">tomato</phoneme> and '
                "[[x]].</speak>", "ssml")  # fmt: skip
    assert ssml.spoken == f"Say [[{ph}]] and [x]."
    assert ssml.has_phonemes
    # A job's parts keep which tokens are phonemes.
    (part,) = split(ssml, 1000)
    assert from_json(to_json(part)) == part and from_json(to_json(part)).has_phonemes


def test_a_word_said_in_more_than_a_part_is_shared_among_parts():
    # A URL of 901 characters is 3,600 characters of speech ("slash a" 450 times): one part
    # held all of it; at 200,000 characters it was ten hours of audio in one worker.
    url = "www.example.com" + "/a" * 443
    script = read(f"See {url} for more.")
    parts = split(script, 1000, workers=2)
    spoken = [p.spans[0].spoken for p in parts if isinstance(p.spans[0], Words)]
    assert len(parts) >= 4 and max(len(s) for s in spoken) <= 1000
    assert " ".join(spoken) == script.spoken  # every word, in order
    # Captions show the URL once, as written, where its speech starts.
    written = [p.spans[0].written for p in parts]
    assert " ".join(w for w in written if w) == f"See {url} for more." and "" in written


@pytest.mark.parametrize(
    ("text", "text_type"),
    [
        ("5% " * 66_000, "text"),  # 198,000 characters said in 858,000
        (" ".join(["www.example.com" + "/a" * 490] * 199), "text"),  # 999-character URLs
        ('<speak><sub alias="' + "slash a " * 80_000 + '">the page</sub></speak>', "ssml"),
    ],
    ids=["percent signs", "URLs of 999 characters", "a long sub alias"],
)
def test_a_text_said_in_more_than_600000_characters_is_refused(text, text_type):
    with pytest.raises(InvalidRequestError) as refused:
        read(text, text_type)
    assert (refused.value.code, refused.value.param) == ("text_too_long", "text")
    assert "at most 600,000" in refused.value.message


def test_a_book_of_prose_is_well_within_the_spoken_bound():
    book = " ".join(["The quick brown fox jumps over the lazy dog, 12 times."] * 3_600)
    assert len(book) > 195_000 and len(read(book).spoken) < 220_000


def test_a_200000_character_url_is_refused_and_a_long_query_is_not_read():
    # Said "slash a slash a ...": 800,000 characters, twelve hours of one job.
    with pytest.raises(InvalidRequestError) as refused:
        read("See www.example.com" + "/a" * 99_990 + " now.")
    assert refused.value.code == "text_too_long"
    # A footnote's tracking URL: its query is not read, however long.
    url = "https://example.com/report?utm_source=" + "a" * 1_100
    assert read(f"See {url} for more.").spoken == "See example dot com slash report for more."


def test_a_code_span_may_quote_a_backtick():
    assert read("Use ``a ` b`` here.").spoken == "Use a ` b here."


@pytest.mark.parametrize(
    ("text", "spoken"),
    [("It is $€ 5 now.", "It is $€ five now."), ("Pay €£ 5 million.", "Pay €£ five million.")],
)
def test_two_currency_signs_before_an_amount_are_read_not_a_crash(text, spoken):
    """A spaced sign before an amount is read as its currency ("€ 5 million"); two signs run
    together were looked up as one ("$€" is in "$€£¥" as a substring) and raised KeyError."""
    assert read(text).spoken == spoken
