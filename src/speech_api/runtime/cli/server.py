"""A running server as the commands talk to it (`--base-url`, `--api-key`): its HTTP client,
and its errors as one-line exits. Both ways a remote file goes use it: the synchronous routes
(remote.py) and the upload flow (remote_uploads.py)."""

from __future__ import annotations


class Server:
    def __init__(self, base_url: str, api_key: str | None, *, interactive: bool):
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=300)
        self.interactive = interactive

    def check(self, response):
        """The response, or SystemExit with the API's error message."""
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise SystemExit(f"error {response.status_code}: {message}")
        return response
