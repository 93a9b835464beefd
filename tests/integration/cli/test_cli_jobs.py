"""`speech-api synthesize --job FILE`: a long text spoken as a speech job, with the engines in
the command's own process or against a server, a bar over its characters on a terminal."""

from __future__ import annotations

import uuid

import av
import pytest
import webvtt

from speech_api.api import create_app
from tests.support.cli import run_cli, run_on_a_terminal
from tests.support.live_server import LiveServer
from tests.support.speech_job_worker import running_speech_jobs

CHAPTER = """# Chapter {n}

The train to the city center leaves from platform number four at 9:30 am.
Your package has shipped and should arrive on Tuesday afternoon.

- Bring your passport.
- Bring **two** pens.
"""


def seconds(path) -> float:
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        return sum(f.samples for f in c.decode(stream)) / stream.rate


def test_a_job_file_with_the_local_engines(tmp_path, model_cache_dir):
    source = tmp_path / "chapter.md"
    source.write_text(CHAPTER.format(n=uuid.uuid4().hex[:4]))
    out = tmp_path / "chapter.wav"
    result = run_cli(
        "synthesize", "--job", str(source), "-o", str(out), "--captions",
        env={"MODEL_CACHE_DIR": str(model_cache_dir), "SPEECH_JOB_PART_CHARS": "100"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert 8 < seconds(out) < 30
    captions = [c.text for c in webvtt.read(str(tmp_path / "chapter.vtt"))]
    shown = " ".join(captions)
    assert "9:30 am." in shown and "**" not in shown and "#" not in shown
    assert (tmp_path / "chapter.srt").read_text().startswith("1\n")


def test_a_job_against_a_server_shows_its_progress(make_settings, tmp_path):
    settings = make_settings(
        speech_jobs_prefix=f"speech-jobs/cli-{uuid.uuid4().hex[:6]}/", speech_job_part_chars=100
    )
    source = tmp_path / "story.ssml"
    source.write_text(
        f'<speak><p>Part {uuid.uuid4().hex[:4]}.</p><break time="1s"/>'
        "<p>The meeting has been moved to the large conference room.</p></speak>"
    )
    with running_speech_jobs(settings) as settings, LiveServer(create_app(settings)) as server:
        code, shown = run_on_a_terminal(
            "synthesize", "--job", str(source), "-o", str(tmp_path / "story.mp3"),
            "--base-url", server.base_url, env={},
        )  # fmt: skip
    assert code == 0, shown
    assert "story.ssml" in shown and "100%" in shown  # the bar over characters
    assert f"wrote {tmp_path / 'story.mp3'}" in shown
    assert seconds(tmp_path / "story.mp3") > 3


def test_a_job_that_cannot_be_spoken_fails_in_one_line(tmp_path):
    source = tmp_path / "bad.ssml"
    source.write_text("<speak><emphasis>Hi</emphasis></speak>")
    result = run_cli("synthesize", "--job", str(source), "-o", str(tmp_path / "x.mp3"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: SSML: not supported here: <emphasis>")


@pytest.mark.parametrize("args", [["hello", "--job", "f.txt"], []])
def test_text_or_job_not_both_nor_neither(tmp_path, args):
    result = run_cli("synthesize", *args, "-o", str(tmp_path / "x.mp3"))
    assert result.returncode != 0 and "--job" in result.stderr
