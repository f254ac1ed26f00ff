"""Requests gunicorn refuses before Django sees them get the contract's JSON error, not an
HTML page. Real gunicorn with the project's gunicorn.conf.py, raw bytes over a socket."""

import json
import os
import socket

import pytest
from django.conf import settings

from tests.faults.harness import gunicorn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=[2, 1], ids=["gthread", "sync"])
def gunicorn_port(request, tmp_path_factory):
    """gunicorn as the api container runs it (gunicorn.conf.py), on a throw-away SQLite file:
    nothing here reaches the database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REDIS_URL", "DJANGO_SETTINGS"))}
    env.update(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="config.settings",
        LOCAL_ENV_FILE="",
        DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('gunicorn') / 'db.sqlite3'}",
        MONGO_URL=settings.MONGO_URL,
        LOG_LEVEL="WARNING",
    )
    with gunicorn(env, workers=1, threads=request.param) as base:
        yield int(base.rsplit(":", 1)[1])


def _exchange(port: int, data: bytes) -> bytes:
    """Sends raw bytes, returns everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        return _read_to_close(sock)


def _read_to_close(sock) -> bytes:
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:  # closed with our unread bytes in its buffer: the answer came first
        pass
    return answer


def _responses(raw: bytes) -> list[tuple[int, dict, bytes]]:
    """(status, headers, body) of each response in `raw` (Content-Length or chunked bodies)."""
    responses = []
    while raw:
        head, _, raw = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
        if "content-length" in headers:
            length = int(headers["content-length"])
            body, raw = raw[:length], raw[length:]
        else:  # chunked
            body = b""
            while True:
                size, _, raw = raw.partition(b"\r\n")
                body, raw = body + raw[: int(size, 16)], raw[int(size, 16) + 2 :]
                if int(size, 16) == 0:
                    break
        responses.append((int(status_line.split()[1]), headers, body))
    return responses


def _json_error(response) -> tuple[int, str]:
    status, headers, body = response
    assert headers["content-type"] == "application/json", (status, body[:200])
    payload = json.loads(body)
    assert set(payload) == {"message", "code", "details"}
    return status, payload["code"]


HOST = b"Host: 127.0.0.1\r\n"
CASES = {
    "nul_in_a_header": (b"GET /api/tickets HTTP/1.1\r\n" + HOST + b"X-Note: a\x00b\r\n\r\n", 400, "malformed_request"),
    "a_20_kb_header": (
        b"GET /api/tickets HTTP/1.1\r\n" + HOST + b"X-Note: " + b"a" * 20_000 + b"\r\n\r\n",
        431,
        "request_headers_too_large",
    ),
    "101_headers": (
        b"GET /api/tickets HTTP/1.1\r\n" + HOST + b"".join(b"X-N%d: 1\r\n" % n for n in range(101)) + b"\r\n",
        431,
        "request_headers_too_large",
    ),
    "a_5000_byte_request_line": (
        b"GET /api/tickets?q=" + b"a" * 5000 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
        414,
        "request_line_too_long",
    ),
    "a_malformed_request_line": (b"GARBAGE\r\n\r\n", 400, "malformed_request"),
    "an_invalid_http_version": (b"GET /api/tickets HTTP/9.7\r\n" + HOST + b"\r\n", 400, "malformed_request"),
    "an_unsupported_transfer_coding": (
        b"POST /api/auth/login HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: brotli\r\n\r\n",
        501,
        "not_implemented",
    ),
    "outside_the_api": (b"GET /admin/ HTTP/1.1\r\n" + HOST + b"X-Note: a\x00b\r\n\r\n", 400, "malformed_request"),
}


@pytest.mark.parametrize("case", CASES)
def test_gunicorn_refusals_are_json(gunicorn_port, case):
    data, status, code = CASES[case]

    responses = _responses(_exchange(gunicorn_port, data))

    assert [_json_error(response) for response in responses] == [(status, code)]
    assert responses[0][1]["connection"] == "close"


def test_invalid_chunked_encoding_is_json(gunicorn_port):
    """Django never reads a body without a Content-Length: the app answers 411 first; gunicorn
    then meets the bad chunk while skipping the body and answers 400 itself."""
    data = (
        b"POST /api/auth/login HTTP/1.1\r\n" + HOST + b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n"
    )

    responses = [_json_error(response) for response in _responses(_exchange(gunicorn_port, data))]

    assert responses[0] == (411, "length_required")
    assert responses[1:] in ([], [(400, "malformed_request")])


def test_a_large_chunked_login_is_refused_without_reading_it(gunicorn_port):
    """The 411 comes back after the first chunk of a body that never ends; the server then
    closes the connection (gthread: after skipping at most 64 KB of it; sync: at once)."""
    with socket.create_connection(("127.0.0.1", gunicorn_port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\n" + HOST + b"Content-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + (b"4000\r\n" + b"x" * 0x4000 + b"\r\n") * 8
        )
        answer = _read_to_close(sock)

    status, _, body = _responses(answer)[0]
    assert status == 411
    assert json.loads(body)["code"] == "length_required"


def test_a_sound_request_is_served(gunicorn_port):
    responses = _responses(_exchange(gunicorn_port, b"GET /health HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n"))

    assert [(status, json.loads(body)) for status, _, body in responses] == [(200, {"status": "ok"})]
