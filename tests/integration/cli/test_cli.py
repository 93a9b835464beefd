"""The `speech-api` command: transcribe many files (local engines or a server), synthesize to a
file or to a public URL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import httpx
import pytest
import srt

from devkit.clips import clip
from speech_api.api import create_app
from tests.support.live_server import API_KEY, LiveServer

CLIPS = [clip("arctic_a0007.wav"), clip("lj_LJ001-0004.mp3"), clip("ls_2412-153948-0000.flac")]


def run_cli(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "speech_api", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def test_transcribe_writes_one_file_per_clip(tmp_path, model_cache_dir):
    out = tmp_path / "subs"
    result = run_cli(
        "transcribe",
        *[str(c.path) for c in CLIPS],
        "--format",
        "srt",
        "-o",
        str(out),
        env={"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)},
    )
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{c.path.stem}.srt" for c in CLIPS)
    cues = list(srt.parse((out / "arctic_a0007.srt").read_text()))
    assert "superlative degree" in cues[0].content.lower()
    assert "printed book" in (out / "lj_LJ001-0004.srt").read_text().lower()


def test_transcribe_reports_a_bad_file_and_keeps_going(tmp_path, model_cache_dir):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    result = run_cli(
        "transcribe",
        str(bad),
        str(CLIPS[0].path),
        "-o",
        "-",
        env={"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)},
    )
    assert result.returncode == 1
    assert "notes.wav" in result.stderr and "could not be decoded" in result.stderr
    assert "superlative degree" in result.stdout.lower()


def test_synthesize_to_a_file(tmp_path):
    target = tmp_path / "hello.flac"
    result = run_cli("synthesize", "Hello from the command line.", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:4] == b"fLaC"


def test_remote_transcribe_and_synthesize(keyed_url, tmp_path):
    remote = ["--base-url", keyed_url, "--api-key", API_KEY]
    result = run_cli("transcribe", str(CLIPS[1].path), "--format", "json", "-o", "-", *remote)
    assert result.returncode == 0, result.stderr
    assert "printed book" in json.loads(result.stdout)["text"].lower()

    result = run_cli("synthesize", "A public link, please.", "--url", *remote)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("http") and httpx.get(url).status_code == 200

    target = tmp_path / "remote.mp3"
    assert run_cli("synthesize", "Bytes, please.", "-o", str(target), *remote).returncode == 0
    assert target.stat().st_size > 1000

    wrong = run_cli("synthesize", "x", "--url", "--base-url", keyed_url, "--api-key", "no")
    assert wrong.returncode != 0 and "401" in wrong.stderr


def run_on_a_terminal(*args: str, env: dict) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (as a person sees it); return its exit
    code and what the terminal showed."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    # A terminal has a size (a fresh pty reports 0 x 0 columns).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "speech_api", *args],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env={**full_env, **env},
    )
    os.close(slave)
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    code = proc.wait(timeout=300)
    reader.join(timeout=10)
    os.close(master)
    return code, shown.decode(errors="replace")


def test_progress_and_what_was_written_on_a_terminal_quiet_when_piped(tmp_path, model_cache_dir):
    env = {"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)}
    paths = [str(c.path) for c in CLIPS[:2]]
    code, shown = run_on_a_terminal("transcribe", *paths, "-o", str(tmp_path / "tty"), env=env)
    assert code == 0, shown
    assert "transcribing" in shown and "2/2" in shown  # the bar over files
    for c in CLIPS[:2]:
        assert f"wrote {tmp_path / 'tty' / c.path.stem}.txt" in shown
    assert "2 of 2 file(s) transcribed" in shown

    piped = run_cli("transcribe", *paths, "-o", str(tmp_path / "piped"), env=env)
    assert piped.returncode == 0 and piped.stderr == ""
    assert len(list((tmp_path / "piped").iterdir())) == 2


def test_model_translate_and_word_timestamps(tmp_path, model_cache_dir):
    env = {"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)}
    spanish = clip("pico_es_arenas.wav")
    result = run_cli(
        "transcribe", str(spanish.path), "--model", "base", "--translate", "-o", "-", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "sand" in result.stdout.lower() and "arenas" not in result.stdout.lower()

    result = run_cli(
        "transcribe",
        str(CLIPS[0].path),
        "--format",
        "verbose_json",
        "--word-timestamps",
        "--language",
        "en",
        "-o",
        "-",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    words = json.loads(result.stdout)["words"]
    assert {"superlative", "degree"} <= {w["word"].strip(".,").lower() for w in words}
    assert all(w["end"] >= w["start"] for w in words)

    refused = run_cli("transcribe", str(CLIPS[0].path), "--word-timestamps", "-o", "-", env=env)
    assert refused.returncode != 0
    assert refused.stderr.strip() == "--word-timestamps needs --format verbose_json"


def test_synthesize_url_without_a_bucket_refuses_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
    result = subprocess.run(
        [sys.executable, "-m", "speech_api", "synthesize", "Hello.", "--url"],
        capture_output=True,
        text=True,
        env={**env, "EMBEDDED_S3": "auto"},
        cwd=tmp_path,  # no .env here
        timeout=120,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "NoCredentialsError" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--base-url" in result.stderr and "S3_ENDPOINT_URL" in result.stderr


def test_voices_and_models_commands(keyed_url):
    local = run_cli("voices", env={"TTS_SPANISH_VOICE": "es_ES-davefx-medium"})
    assert local.returncode == 0, local.stderr
    lines = local.stdout.splitlines()
    assert "en_US-joe-medium  (default)" in lines and "marin -> en_US-joe-medium" in lines
    assert "es -> es_ES-davefx-medium  (not installed)" in lines

    models = run_cli("models", "--base-url", keyed_url, "--api-key", API_KEY)
    assert models.returncode == 0, models.stderr
    assert {"whisper-1", "gpt-4o-transcribe", "tiny.en", "tts-1"} <= set(models.stdout.split())
    # Labelled: which names transcribe and which speak.
    stt, _, tts = models.stdout.partition("text to speech")
    assert stt.startswith("speech to text") and "  tiny.en\n" in stt and "tts-1" not in stt
    assert "  tts-1\n" in tts and "tiny.en" not in tts and "whisper-1" not in tts


def test_a_long_recording_shows_progress_in_audio_seconds(tmp_path, model_cache_dir):
    """Past /stt's minute: a 2.5-minute recording, a bar over its seconds, subtitles to the end."""
    from devkit.clips import joined_recording

    recording = joined_recording(min_s=150, seed=7)
    path = tmp_path / "meeting.flac"
    path.write_bytes(recording.flac())
    env = {"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)}
    code, shown = run_on_a_terminal("transcribe", str(path), "--format", "vtt", env=env)
    assert code == 0, shown
    total = round(recording.duration_s)
    shown_done = {int(n) for n in re.findall(rf"meeting\.flac:.*?(\d+)/{total} s audio", shown)}
    assert 0 in shown_done and max(shown_done) > 60  # it moved, in seconds of audio
    assert f"wrote {tmp_path / 'meeting.vtt'}" in shown
    cues = [line for line in (tmp_path / "meeting.vtt").read_text().splitlines() if "-->" in line]
    assert cues[-1].startswith("00:02:")


@pytest.fixture(scope="module")
def upload_servers(make_settings):
    """Keyed servers that run the upload worker (the Lambda handler behind SQS), as `make serve`
    does: one with /stt's default minute, one whose /stt takes 5 s (a lower MAX_AUDIO_SECONDS,
    as a deployment behind API Gateway has)."""
    from tests.support.upload_worker import running_upload_worker

    settings = make_settings(api_key=API_KEY, stt={"model": "tiny.en"})
    strict = settings.model_copy(update={"max_audio_seconds": 5.0})
    with (
        running_upload_worker(settings),
        LiveServer(create_app(settings)) as server,
        LiveServer(create_app(strict)) as strict_server,
    ):
        yield server.base_url, strict_server.base_url


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def test_a_long_remote_recording_goes_through_the_upload_flow(upload_servers, tmp_path):
    """Past /stt's minute: the CLI uploads the file, follows the worker's progress in seconds
    of audio, then writes the subtitles from the stored transcript."""
    from devkit.clips import joined_recording

    recording = joined_recording(min_s=90, seed=7)
    path = tmp_path / "meeting.flac"
    path.write_bytes(recording.flac())
    out = tmp_path / "subs"
    remote = ["--base-url", upload_servers[0], "--api-key", API_KEY]
    code, shown = run_on_a_terminal(
        "transcribe", str(path), "--format", "srt", "-o", str(out), *remote, env={}
    )
    assert code == 0, shown
    assert "uploading (" in shown and ("queued" in shown or "processing" in shown)
    total = round(recording.duration_s)
    assert re.search(rf"meeting\.flac:.*?\d+/{total} s audio", shown), shown
    assert f"wrote {out / 'meeting.srt'}" in shown

    cues = list(srt.parse((out / "meeting.srt").read_text()))
    assert cues[-1].start.total_seconds() > 60  # subtitles past /stt's minute
    heard = " ".join(" ".join(words(c.content)) for c in cues)
    first = " ".join(words(recording.clips[0].text)[4:14])  # chest ... overstrained eyes
    assert first in heard, (first, heard)
    assert len(set(words(recording.reference)) & set(heard.split())) > 30

    # What the upload worker cannot give is refused before anything is uploaded.
    refused = run_cli("transcribe", str(path), "--translate", "-o", "-", *remote)
    assert refused.returncode == 1
    assert "meeting.flac: 94 s, over /stt's 60 s" in refused.stderr
    assert "--translate is not available" in refused.stderr
    odd = tmp_path / "meeting.audio"
    odd.write_bytes(path.read_bytes())
    refused = run_cli("transcribe", str(odd), "-o", "-", *remote)
    assert refused.returncode == 1 and "convert it" in refused.stderr


def test_a_file_the_servers_stt_refuses_as_too_long_takes_the_upload_flow(upload_servers):
    """Under the default minute, but over this server's MAX_AUDIO_SECONDS: /stt answers 413
    and the file goes through the upload flow; piped, nothing but the transcript."""
    jfk = clip("jfk_inaugural.flac")  # 11 s
    sync = httpx.post(
        f"{upload_servers[1]}/stt",
        files={"file": ("jfk.flac", jfk.read())},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert sync.status_code == 413 and sync.json()["error"]["code"] == "audio_too_long"
    remote = ["--base-url", upload_servers[1], "--api-key", API_KEY]
    result = run_cli("transcribe", str(jfk.path), "--format", "text", "-o", "-", *remote)
    assert result.returncode == 0, result.stderr
    assert "ask not what your country can do for you" in result.stdout.lower()
    assert result.stderr == ""
