"""The playground page in a real headless browser (Debian's Chromium through Selenium):
synthesize and play from the public URL; upload a dev clip and read its transcript."""

from __future__ import annotations

import warnings
import wave

import httpx
import pytest
import srt

from devkit.clips import clip
from speech_api.formats import OUTPUT_FORMATS
from tests.support.browser import headless_chromium, wait
from tests.support.live_server import API_KEY


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium(
        "--autoplay-policy=no-user-gesture-required", "--mute-audio", browser_log=True
    )
    yield driver
    driver.quit()


def open_playground(browser, url: str) -> None:
    """The page, loaded with its form. Once in a full `make test` (2 cores, both busy) get()
    returned a page without the form, which is static HTML: Chromium's own error page, most
    likely (a connection the busy server did not accept in time). That is loaded once more,
    with a warning that shows it; a second page without the form fails the test."""
    from selenium.webdriver.common.by import By

    pages = []
    for _ in range(2):
        browser.get(url + "/")
        try:
            wait(browser, lambda d: d.find_elements(By.ID, "tts-text"), timeout=15)
            break
        except Exception:  # a TimeoutException: keep what the browser got instead
            pages.append(browser.page_source[:1000])
            message = f"no playground form at {url}/, loading it again: {pages[-1]}"
            warnings.warn(message, RuntimeWarning, stacklevel=2)  # UserWarning is ignored
    else:
        raise AssertionError(f"no playground form at {url}/, twice: {pages}")


def test_page_is_served_with_no_external_assets(live_api):
    r = live_api.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "http://" not in r.text and "https://" not in r.text  # nothing from a CDN


def test_synthesize_and_play_from_the_public_url(browser, live_url):
    from selenium.webdriver.common.by import By

    open_playground(browser, live_url)
    box = browser.find_element(By.ID, "tts-text")
    box.clear()
    box.send_keys("The browser plays what the service said.")
    browser.find_element(By.ID, "speak").click()
    url = wait(browser, lambda d: d.find_element(By.ID, "tts-url").text or None)
    assert "/public/tts/" in url
    assert httpx.get(url).status_code == 200
    # The audio element fetched the URL and decoded its metadata.
    duration = wait(
        browser,
        lambda d: d.execute_script(
            "const a = document.getElementById('tts-audio');"
            "return a.readyState >= 1 && a.duration > 0 ? a.duration : null;"
        ),
    )
    assert 1.0 < duration < 6.0
    assert browser.find_element(By.ID, "tts-error").text == ""


def test_upload_a_clip_and_read_the_transcript(browser, live_url):
    from selenium.webdriver.common.by import By

    open_playground(browser, live_url)
    browser.find_element(By.ID, "stt-file").send_keys(str(clip("arctic_a0009.wav").path))
    browser.find_element(By.ID, "transcribe").click()
    text = wait(browser, lambda d: d.find_element(By.ID, "stt-text").text or None)
    assert "faced gregson across the table" in text.lower()
    segments = browser.find_elements(By.CSS_SELECTOR, "#stt-segments li")
    assert segments and segments[0].text.startswith("[0.")


def test_errors_show_on_the_page(browser, live_url):
    from selenium.webdriver.common.by import By

    open_playground(browser, live_url)
    browser.find_element(By.ID, "tts-text").clear()
    browser.find_element(By.ID, "speak").click()
    message = wait(browser, lambda d: d.find_element(By.ID, "tts-error").text or None)
    # The page shows the API's own message for what it sent, word for word.
    expected = httpx.post(live_url + "/tts", json={"text": "", "format": "mp3", "speed": 1}).json()[
        "error"
    ]
    assert expected["param"] == "text"
    assert message == expected["message"]


def options_of(driver, select_id: str) -> list[str]:
    return driver.execute_script(
        f"return [...document.getElementById('{select_id}').options].map(o => o.value);"
    )


def test_pickers_come_from_the_api_and_nothing_is_missing(browser, live_url):
    browser.get_log("browser")  # drop what earlier tests logged
    open_playground(browser, live_url)
    wait(browser, lambda d: len(options_of(d, "tts-voice")) > 1 or None)
    voices = options_of(browser, "tts-voice")
    assert voices[0] == "en_US-joe-medium" and {"alloy", "marin", "cedar"} <= set(voices)
    assert options_of(browser, "tts-format") == list(OUTPUT_FORMATS)  # all of them
    models = wait(browser, lambda d: options_of(d, "stt-model") or None)
    assert {"whisper-1", "base", "tiny.en"} <= set(models)
    assert not any("tts" in m for m in models)
    # No request of the page failed: no favicon 404, no list that did not load.
    failures = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert failures == []
    assert browser.find_element("id", "key-status").text == ""


def test_a_chosen_voice_and_format_are_what_the_server_made(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_playground(browser, live_url)
    wait(browser, lambda d: len(options_of(d, "tts-format")) > 1 or None)
    Select(browser.find_element(By.ID, "tts-format")).select_by_value("opus")
    Select(browser.find_element(By.ID, "tts-voice")).select_by_value("marin")
    browser.find_element(By.ID, "speak").click()
    url = wait(browser, lambda d: d.find_element(By.ID, "tts-url").text or None)
    assert url.endswith(".opus") and httpx.get(url).content[:4] == b"OggS"
    assert "en_US-joe-medium" in browser.find_element(By.ID, "tts-info").text


def test_an_error_clears_the_previous_audio_and_url(browser, live_url):
    from selenium.webdriver.common.by import By

    open_playground(browser, live_url)
    browser.find_element(By.ID, "speak").click()
    wait(browser, lambda d: d.find_element(By.ID, "tts-url").text or None)
    browser.find_element(By.ID, "tts-text").clear()
    browser.find_element(By.ID, "speak").click()
    wait(browser, lambda d: d.find_element(By.ID, "tts-error").text or None)
    assert browser.find_element(By.ID, "tts-url").text == ""
    assert browser.execute_script("return document.getElementById('tts-audio').src") == ""


def test_word_timings_and_subtitle_download(browser, live_url):
    from selenium.webdriver.common.by import By

    open_playground(browser, live_url)
    wait(browser, lambda d: options_of(d, "stt-model") or None)
    browser.find_element(By.ID, "stt-words-on").click()
    browser.find_element(By.ID, "stt-file").send_keys(str(clip("arctic_a0009.wav").path))
    browser.find_element(By.ID, "transcribe").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#stt-words span") or None)
    words = [
        s.text.split()[0].strip(".,").lower()
        for s in browser.find_elements(By.CSS_SELECTOR, "#stt-words span")
    ]
    assert {"faced", "gregson", "table"} <= set(words)

    browser.find_element(By.ID, "download-srt").click()
    name = wait(
        browser,
        lambda d: d.execute_script(
            "const a = document.getElementById('stt-download'); return a.href ? a.download : null;"
        ),
    )
    assert name == "arctic_a0009.srt"
    text = browser.execute_async_script(
        "const done = arguments[0];"
        "fetch(document.getElementById('stt-download').href).then(r => r.text()).then(done);"
    )
    cues = list(srt.parse(text))
    assert "faced gregson across the table" in " ".join(c.content for c in cues).lower()


def test_translate_toggle(browser, live_url):
    from selenium.webdriver.common.by import By

    open_playground(browser, live_url)
    wait(browser, lambda d: options_of(d, "stt-model") or None)
    browser.find_element(By.ID, "stt-translate").click()
    browser.find_element(By.ID, "stt-file").send_keys(str(clip("pico_es_arenas.wav").path))
    browser.find_element(By.ID, "transcribe").click()
    text = wait(browser, lambda d: d.find_element(By.ID, "stt-text").text or None).lower()
    assert "sand" in text and "arenas" not in text
    assert "translate" in browser.find_element(By.ID, "stt-status").text


def test_warns_before_sending_audio_over_the_limit(browser, live_url, tmp_path):
    from selenium.webdriver.common.by import By

    long = tmp_path / "long.wav"
    with wave.open(str(long), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000 * 61)
    open_playground(browser, live_url)
    browser.find_element(By.ID, "stt-file").send_keys(str(long))
    warning = wait(browser, lambda d: d.find_element(By.ID, "stt-warning").text or None)
    assert "61 s" in warning and "at most 60 s" in warning


def test_with_an_api_key_the_docs_link_leads_to_a_reference_that_works(browser, keyed_url):
    from selenium.webdriver.common.by import By

    browser.get(keyed_url + "/")
    browser.execute_script("localStorage.clear()")
    browser.get(keyed_url + "/")
    status = wait(browser, lambda d: d.find_element(By.ID, "key-status").text or None)
    assert "Missing or invalid API key" in status
    link = browser.find_element(By.ID, "docs-link")
    assert link.get_attribute("href").endswith("#reference")

    box = browser.find_element(By.ID, "api-key")
    box.send_keys(API_KEY)
    browser.execute_script("arguments[0].dispatchEvent(new Event('change'))", box)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#reference-list details") or None)
    paths = browser.find_element(By.ID, "reference-list").text
    assert "/v1/audio/transcriptions" in paths and "/tts" in paths
    assert len(options_of(browser, "tts-format")) == len(OUTPUT_FORMATS)
    assert browser.find_element(By.ID, "key-status").text == ""
    browser.execute_script("localStorage.clear()")


def test_without_a_key_the_docs_link_is_swagger(browser, live_url):
    from selenium.webdriver.common.by import By

    open_playground(browser, live_url)
    wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "docs-link").get_attribute("href").endswith("/docs") or None
        ),
    )
    assert httpx.get(live_url + "/docs").status_code == 200
