"""`/docs` in a real headless browser (Debian's Chromium through Selenium) that can reach
nothing but this machine: Swagger UI renders the API's operations from the server's own
files, with no CDN (FastAPI's default page is blank offline)."""

from __future__ import annotations

import httpx
import pytest

from speech_api.api import create_app
from tests.support.browser import headless_chromium, wait
from tests.support.live_server import LiveServer


@pytest.fixture(scope="module")
def offline_browser():
    # No name resolves but this machine's: a CDN is out of reach even where the network would
    # allow it.
    driver = headless_chromium(
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
    )
    yield driver
    driver.quit()


def rendered_operations(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('.opblock-summary-path')]"
        ".map(e => e.getAttribute('data-path'));"
    )


def test_docs_render_every_operation_with_no_network(offline_browser, live_url):
    offline_browser.get(live_url + "/docs")
    paths = wait(offline_browser, lambda d: rendered_operations(d) or None)
    schema = httpx.get(live_url + "/openapi.json").json()
    assert set(paths) == set(schema["paths"])
    assert {"/tts", "/stt", "/v1/audio/transcriptions", "/uploads"} <= set(paths)
    loaded = offline_browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert loaded and all(url.startswith(live_url + "/") for url in loaded), loaded


class Stage:
    """What API Gateway and the Lambda runtime make of `/prod/docs`: the app sees the path
    `/docs` under the root path `/prod` (runtime/aws_lambda.py's _StagePrefix)."""

    def __init__(self, app, prefix: str = "/prod"):
        self.app, self.prefix = app, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.prefix + "/"):
            path = scope["path"][len(self.prefix) :]
            scope = {**scope, "path": path, "raw_path": path.encode(), "root_path": self.prefix}
        await self.app(scope, receive, send)


def test_docs_render_with_a_key_set_and_under_a_stage_prefix(offline_browser, make_settings):
    """With API_KEY set the page, its files and the schema stay open (as behind the gateway);
    under API Gateway's stage prefix the page asks for them under it."""
    app = create_app(make_settings(api_key="sk-docs", preload_models="none"))
    with LiveServer(Stage(app)) as server:
        offline_browser.get(server.base_url + "/prod/docs")
        paths = wait(offline_browser, lambda d: rendered_operations(d) or None)
        loaded = offline_browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name);"
        )
    assert "/tts" in paths
    assert all(url.startswith(server.base_url + "/prod/") for url in loaded), loaded


def test_with_a_key_try_it_out_sends_the_key_from_authorize(offline_browser, make_settings):
    """Swagger UI's Authorize button takes the key (the schema says how it is sent), and
    "Try it out" then gets 200 where it would get 401."""
    from selenium.webdriver.common.by import By

    app = create_app(make_settings(api_key="sk-docs", preload_models="none"))
    with LiveServer(app) as server:
        d = offline_browser
        d.get(server.base_url + "/docs")
        wait(d, lambda d: rendered_operations(d) or None)
        d.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
        box = wait(d, lambda d: d.find_element(By.CSS_SELECTOR, ".auth-container input"))
        box.send_keys("sk-docs")
        d.find_element(By.CSS_SELECTOR, ".auth-container .btn.modal-btn.auth").click()
        d.find_element(By.CSS_SELECTOR, ".btn-done").click()
        models = d.find_element(By.ID, "operations-openai-models_v1_models_get")
        models.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait(d, lambda d: models.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
        wait(d, lambda d: models.find_element(By.CSS_SELECTOR, ".execute")).click()
        status = wait(
            d,
            lambda d: (
                models.find_element(
                    By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
                ).text
                or None
            ),
        )
    assert status.strip().startswith("200"), status
