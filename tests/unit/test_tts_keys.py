import subprocess
import sys

from speech_api.tts_cache import tts_object_key

BASE = dict(
    text="Hello there.",
    engine="piper",
    voice="en_US-joe-medium",
    model="en_US-joe-medium",
    fmt="mp3",
    speed=1.0,
)


def test_key_lives_under_the_public_prefix_and_hides_the_text():
    key = tts_object_key("public/", **BASE)
    assert key.startswith("public/tts/") and key.endswith(".mp3")
    assert "Hello" not in key
    assert len(key.removeprefix("public/tts/").removesuffix(".mp3")) == 64


def test_identical_requests_share_a_key_across_processes():
    # Every Lambda container and server process must find the audio another one stored:
    # the key may not depend on anything process-local (hash seeds, dict order).
    code = (
        "from speech_api.tts_cache import tts_object_key;"
        f"print(tts_object_key('public/', **{BASE!r}))"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert keys == {tts_object_key("public/", **BASE)}


def test_everything_that_changes_the_audio_changes_the_key():
    base = tts_object_key("public/", **BASE)
    for field, value in [
        ("text", "Hello there!"),
        ("engine", "coqui"),
        ("voice", "other"),
        ("model", "other-model"),
        ("fmt", "wav"),
        ("speed", 1.25),
        ("text_type", "ssml"),
    ]:
        assert tts_object_key("public/", **{**BASE, field: value}) != base, field


def test_user_text_cannot_steer_the_key_outside_the_prefix():
    key = tts_object_key("public/", **{**BASE, "text": "../../uploads/secret"})
    assert key.startswith("public/tts/") and ".." not in key
