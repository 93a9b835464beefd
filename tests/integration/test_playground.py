"""The playground page in a real headless browser (Debian's Chromium through Selenium):
synthesize and play from the public URL; upload a dev clip and read its transcript."""

from __future__ import annotations

import shutil

import httpx
import pytest

from devkit.clips import clip

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    # `make test` installs Chromium (see the Makefile); a machine without it cannot run this.
    assert CHROMIUM and CHROMEDRIVER, "Chromium and chromedriver are needed: run `make browser`"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",
        "--mute-audio",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def test_page_is_served_with_no_external_assets(http):
    r = http.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "http://" not in r.text and "https://" not in r.text  # nothing from a CDN


def test_synthesize_and_play_from_the_public_url(browser, live_url):
    from selenium.webdriver.common.by import By

    browser.get(live_url + "/")
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

    browser.get(live_url + "/")
    browser.find_element(By.ID, "stt-file").send_keys(str(clip("arctic_a0009.wav").path))
    browser.find_element(By.ID, "transcribe").click()
    text = wait(browser, lambda d: d.find_element(By.ID, "stt-text").text or None)
    assert "faced gregson across the table" in text.lower()
    segments = browser.find_elements(By.CSS_SELECTOR, "#stt-segments li")
    assert segments and segments[0].text.startswith("[0.")


def test_errors_show_on_the_page(browser, live_url):
    from selenium.webdriver.common.by import By

    browser.get(live_url + "/")
    browser.find_element(By.ID, "tts-text").clear()
    browser.find_element(By.ID, "speak").click()
    message = wait(browser, lambda d: d.find_element(By.ID, "tts-error").text or None)
    # The page shows the API's own message for what it sent, word for word.
    expected = httpx.post(live_url + "/tts", json={"text": "", "format": "mp3", "speed": 1}).json()[
        "error"
    ]
    assert expected["param"] == "text"
    assert message == expected["message"]
