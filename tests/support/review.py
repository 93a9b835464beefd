"""How the hostile review judges an answer: the status it was pinned to, and then either a
JSON error with its code (never a bare 4xx) or the right answer (the words spoken); raw HTTP
for what a client library would refuse to send."""

from __future__ import annotations

import socket

import httpx


def assert_answer(
    r: httpx.Response, status: int, expected: tuple[str, str | None] | str | None = None
) -> None:
    """``status`` exactly. A 4xx is a JSON error whose (code, param) is ``expected``, with a
    message; a 200's text holds ``expected`` (lower case words) when it is given."""
    assert r.status_code == status, f"{r.status_code}: {r.text[:300]}"
    if status >= 400:
        assert r.headers.get("content-type", "").startswith("application/json"), r.headers
        error = r.json()["error"]
        assert (error["code"], error["param"]) == expected and error["message"], error
    elif expected is not None:
        assert expected in r.json()["text"].lower(), r.text[:300]


def raw_http(base_url: str, request: bytes, read_s: float = 10.0) -> str:
    """Send ``request`` as it is; the answer's status line ("" if the connection closed
    without one). A server that does not answer within ``read_s`` fails the case."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_s) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)  # TimeoutError: no answer, the case fails
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode(errors="replace")
