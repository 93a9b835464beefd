"""Headless Chromium (Debian's, through Selenium) for the browser tests: the playground and
the docs page."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def headless_chromium(*args: str, browser_log: bool = False):
    """A started driver with ``args`` besides the headless ones; the caller quits it."""
    # `make test` installs Chromium (see the Makefile); a machine without it cannot run this.
    assert CHROMIUM and CHROMEDRIVER, "Chromium and chromedriver are needed: run `make browser`"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", *args):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait(driver, condition, timeout: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
