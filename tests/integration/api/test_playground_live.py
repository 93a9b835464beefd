"""The playground's Live mode in headless Chromium, its microphone a dev clip (Chromium's fake
capture device): partial text appears while the clip plays, then the final line."""

from __future__ import annotations

import wave

import pytest

from devkit.clips import clip
from devkit.wer import corpus_wer
from speech_api.audio.pcm import to_pcm16
from tests.support.browser import headless_chromium, wait
from tests.support.realtime import RealtimeServer, clip_audio

CLIP = clip("ls_1221-135766-0001.wav")  # 16.7 s, one sentence
KEY = "sk-browser"


@pytest.fixture(scope="module")
def microphone(tmp_path_factory) -> str:
    """The clip as a WAV for Chromium's fake microphone, with silence before and after."""
    path = tmp_path_factory.mktemp("mic") / "speech.wav"
    audio = clip_audio(CLIP, lead_s=1.0, tail_s=4.0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(to_pcm16(audio).tobytes())
    return str(path)


@pytest.fixture(scope="module")
def browser(microphone):
    driver = headless_chromium(
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}%noloop",
    )
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(make_settings):
    with RealtimeServer(make_settings(stt={"model": "tiny.en"}, api_key=KEY)) as s:
        yield s


def test_live_mode_shows_partial_then_final_text_from_the_microphone(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server.base_url + "/")
    key = browser.find_element(By.ID, "api-key")
    key.send_keys(KEY)
    browser.execute_script("document.getElementById('api-key').dispatchEvent(new Event('change'))")
    wait(browser, lambda d: d.find_element(By.ID, "stt-model").get_attribute("value") or None)
    browser.find_element(By.ID, "stt-language").send_keys("en")
    browser.find_element(By.ID, "live-toggle").click()
    wait(browser, lambda d: "listening" in d.find_element(By.ID, "live-status").text, 60)
    # Partial text while the clip is still playing (it lasts 17.7 s from here).
    partials = []

    def partial_seen(d):
        text = d.find_element(By.ID, "live-partial").text.strip()
        if text:
            partials.append(text)
        return partials or None

    wait(browser, partial_seen, 30)
    assert not browser.find_element(By.ID, "live-final").text  # nothing final yet
    final = wait(browser, lambda d: d.find_element(By.ID, "live-final").text.strip() or None, 60)
    assert corpus_wer([CLIP.text], [final]) <= 0.2
    words = set(CLIP.text.lower().replace(",", "").split())
    assert any(w.lower().strip(",.") in words for p in partials for w in p.split())
    assert browser.find_element(By.ID, "live-error").text == ""
    browser.find_element(By.ID, "live-toggle").click()
    wait(browser, lambda d: d.find_element(By.ID, "live-toggle").text == "Start live")


def test_a_wrong_key_is_shown(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server.base_url + "/")
    browser.execute_script("localStorage.setItem('speech-api-key', 'wrong')")
    browser.get(server.base_url + "/")
    browser.find_element(By.ID, "live-toggle").click()
    message = wait(browser, lambda d: d.find_element(By.ID, "live-error").text or None, 30)
    assert "failed" in message
    assert browser.find_element(By.ID, "live-toggle").text == "Start live"
