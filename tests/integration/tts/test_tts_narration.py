"""/tts with SSML (`text_type: ssml`) and with plain text in its spoken form, on the real
Piper voice, heard back by Whisper where what matters is what a listener hears."""

from __future__ import annotations

import io
import time
import uuid
import wave

import httpx
import numpy as np
import pytest

from devkit.wer import normalize as wer_normalize


def tag() -> str:
    return uuid.uuid4().hex[:6]


def tts(api, text: str, **body) -> dict:
    r = api.post("/tts", json={"text": text, "format": "wav", **body})
    assert r.status_code == 200, r.text
    return r.json()


def samples_of(url: str) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(httpx.get(url, timeout=10).content)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.astype(np.float32) / 32768, w.getframerate()


def longest_silence_s(samples: np.ndarray, rate: int) -> float:
    """The longest stretch of 10 ms frames quieter than -50 dBFS."""
    frame = rate // 100
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
    quiet = np.sqrt((frames**2).mean(axis=1)) < 10 ** (-50 / 20)
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    return longest / 100


def heard(api, url: str) -> str:
    audio = httpx.get(url, timeout=10).content
    r = api.post("/stt", files={"file": ("a.wav", audio)}, data={"language": "en"})
    assert r.status_code == 200, r.text
    return wer_normalize(r.json()["text"])


def test_a_break_is_silence_of_its_length(api):
    words = f"Seven green apples, take {tag()}."
    plain = tts(api, f"<speak>{words} {words}</speak>", text_type="ssml")
    paused = tts(api, f'<speak>{words} <break time="2s"/> {words}</speak>', text_type="ssml")
    samples, rate = samples_of(paused["url"])
    # Piper's own pause after a full stop is a few hundred ms: the break adds its 2 s to it.
    assert 2.0 <= longest_silence_s(samples, rate) < 2.8
    assert paused["duration_s"] - plain["duration_s"] == pytest.approx(2.0, abs=0.35)


def test_prosody_rate_slows_its_span_only(api):
    said = "Seven green apples on the table"
    body = f'<speak>{said}. <prosody rate="50%">{said}.</prosody> {tag()}</speak>'
    words = tts(api, body, text_type="ssml", captions=True)["words"]
    first, second = words[:6], words[6:12]
    assert [w["word"] for w in first] == [*said.split()[:5], "table."]
    length = [group[-1]["end"] - group[0]["start"] for group in (first, second)]
    assert length[1] > 1.6 * length[0]


def test_captions_are_timed_on_the_words_as_written(api):
    body = tts(api, f"It costs $3.50 on 2024-03-15, ref {tag()}.", captions=True)
    words = body["words"]
    assert [w["word"] for w in words][:5] == ["It", "costs", "$3.50", "on", "2024-03-15,"]
    price, date = words[2], words[4]
    # "three dollars and fifty cents", "March fifteenth, twenty twenty-four": long words.
    assert price["end"] - price["start"] > 0.9 and date["end"] - date["start"] > 1.2
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and words[-1]["end"] <= body["duration_s"] + 0.01
    srt = httpx.get(body["captions"]["srt"], timeout=10).text
    assert "$3.50" in srt and "dollars" not in srt


def test_ssml_captions_show_sub_and_say_as_as_written(api):
    body = tts(
        api,
        f'<speak>Read <sub alias="World Wide Web">WWW</sub> <say-as interpret-as="characters">'
        f'abc</say-as> <break time="1s"/> slowly {tag()}</speak>',
        text_type="ssml",
        captions=True,
    )
    words = body["words"]
    assert [w["word"] for w in words][:4] == ["Read", "WWW", "abc", "slowly"]
    # The break sits between "abc" and "slowly".
    assert words[3]["start"] - words[2]["end"] > 0.9


def test_ssml_captions_keep_words_whole_where_text_touches_an_element(api):
    """Text meeting an element mid-word was cut there: captions showed 'said "', 'WWW "',
    '2048 !' and "FBI", "'s", and the voice was given "F B I 's" (read "eye ess")."""
    body = tts(
        api,
        f'<speak>He said "<sub alias="World Wide Web">WWW</sub>" (twice) and '
        f'<say-as interpret-as="digits">2048</say-as>! The <say-as interpret-as="characters">'
        f"FBI</say-as>'s boss, case {tag()}.</speak>",
        text_type="ssml",
        captions=True,
    )
    written = [w["word"] for w in body["words"]]
    assert written[:9] == [
        *("He", "said", '"WWW"', "(twice)", "and", "2048!", "The", "FBI's", "boss,")
    ]
    starts = [w["start"] for w in body["words"]]
    assert starts == sorted(starts)
    vtt = httpx.get(body["captions"]["vtt"], timeout=10).text
    cues = [line for line in vtt.splitlines() if line and "-->" not in line][1:]
    assert " ".join(cues).startswith('He said "WWW" (twice) and 2048! The FBI\'s boss,')


def test_listeners_hear_the_spoken_form(api):
    # espeak alone reads "03/15/2024" as "zero three slash fifteen slash two thousand ..."
    # and the URL as "h t t p s colon slash slash ...".
    url = tts(api, f"We met on 03/15/2024 at https://example.com/docs, case {tag()}.")["url"]
    text = heard(api, url)
    assert "march" in text and "slash 15" not in text and "colon" not in text
    assert "example" in text


def test_markdown_is_read_as_text(api):
    url = tts(api, f"# Results\n\nThe **total** is *final*, item {tag()}.")["url"]
    text = heard(api, url)
    assert "results" in text and "total" in text
    for syntax in ("hash", "asterisk", "star"):
        assert syntax not in text


def test_say_as_and_sub_are_heard(api):
    body = (
        '<speak><sub alias="World Wide Web">WWW</sub> on '
        '<say-as interpret-as="date" format="dmy">15/03/2024</say-as>.</speak>'
    )
    text = heard(api, tts(api, body, text_type="ssml")["url"])
    # The alias, not the letters ("double-u double-u double-u"); Whisper base hears its first
    # word, said softly at the very start, as "world" or "or a".
    assert "wide web" in text and "double" not in text
    assert "march" in text


def test_phonemes_are_spoken_where_piper_takes_them(api):
    ph = tts(api, '<speak><phoneme alphabet="ipa" ph="pɪˈkɑːn">pecan</phoneme></speak>',  # noqa: RUF001
             text_type="ssml")  # fmt: skip
    assert 0.3 < ph["duration_s"] < 2.0
    r = api.post(
        "/tts",
        json={"text": '<speak><phoneme ph="Q#q">x</phoneme></speak>', "text_type": "ssml"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unknown_phonemes" and "Q" in r.json()["error"]["message"]


def test_coqui_refuses_phonemes_by_name(coqui_api):
    r = coqui_api.post(
        "/tts",
        json={"text": '<speak><phoneme ph="tə">x</phoneme></speak>', "text_type": "ssml"},
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "unsupported_ssml" and "<phoneme>" in error["message"]


def test_unsupported_markup_is_refused_by_name_and_never_spoken(api):
    r = api.post(
        "/tts",
        json={
            "text": '<speak><emphasis level="strong">Hi</emphasis> <mark name="a"/>x</speak>',
            "text_type": "ssml",
        },
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "unsupported_ssml" and error["param"] == "text"
    assert "<emphasis>" in error["message"] and "<mark>" in error["message"]


@pytest.mark.parametrize(
    "document",
    [
        '<!DOCTYPE speak [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<speak>&b;</speak>",
        '<!DOCTYPE speak [<!ENTITY x SYSTEM "file:///etc/passwd">]><speak>&x;</speak>',
        "<speak>" + "<s>" * 500 + "x" + "</s>" * 500 + "</speak>",
    ],
    ids=["entity expansion", "external entity", "nested 500 deep"],
)
def test_hostile_ssml_is_a_400_within_a_second_and_the_server_keeps_serving(api, document):
    started = time.perf_counter()
    r = api.post("/tts", json={"text": document, "text_type": "ssml"})
    assert time.perf_counter() - started < 1.0
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_ssml"
    assert api.post("/tts", json={"text": f"Still here {tag()}."}).status_code == 200


def test_openai_speech_is_read_in_its_spoken_form(api):
    r = api.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "voice": "alloy", "input": "We met on 03/15/2024.",
              "response_format": "wav"},
    )  # fmt: skip
    assert r.status_code == 200
    stt = api.post("/stt", files={"file": ("a.wav", r.content)}, data={"language": "en"})
    assert "march" in stt.json()["text"].lower()
