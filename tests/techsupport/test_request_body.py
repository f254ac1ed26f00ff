"""`techsupport.request_body.body_reader` under real gunicorn: the body read from the socket
is exactly the body, whatever gunicorn had already read ahead, and the connection stays
usable for the next request (gunicorn drains what the application left unread)."""

import hashlib
import json
import os
import socket

import pytest

from tests.faults.harness import gunicorn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=[2, 1], ids=["gthread", "sync"])
def server(request):
    """(port, keep-alive): the sync worker closes the connection after every response."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_SETTINGS")}
    with gunicorn(env, threads=request.param, app="tests.techsupport.body_echo_app:app") as base:
        yield int(base.rsplit(":", 1)[1]), request.param > 1


def _post(query: str, body: bytes) -> bytes:
    head = f"POST /echo?{query} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _answers(sock, count: int) -> list[dict]:
    """The JSON bodies of the next `count` responses on a keep-alive connection."""
    raw, answers = b"", []
    while len(answers) < count:
        head_end = raw.find(b"\r\n\r\n")
        length = None
        if head_end >= 0:
            headers = raw[:head_end].decode().lower().split("\r\n")
            length = next(int(line.split(":")[1]) for line in headers if line.startswith("content-length"))
        if length is not None and len(raw) >= head_end + 4 + length:
            assert raw.startswith(b"HTTP/1.1 200"), raw[:200]
            answers.append(json.loads(raw[head_end + 4 : head_end + 4 + length]))
            raw = raw[head_end + 4 + length :]
            continue
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {len(answers)} answers"
        raw += chunk
    return answers


def _exchange(port: int, keep_alive: bool, requests: list[bytes]) -> list[dict]:
    """All requests sent at once on one connection (gunicorn reads ahead into the next ones),
    or each on its own without keep-alive."""
    if not keep_alive:
        return [answer for request in requests for answer in _exchange(port, True, [request])]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"".join(requests))
        return _answers(sock, len(requests))


def test_bodies_read_from_the_socket_are_exact_and_keep_alive_holds(server):
    """Three requests sent at once (gunicorn reads ahead into the next ones): the first read
    whole in odd pieces, the second but its last 10,000 bytes (gunicorn drains them; it
    closes instead past 64 KB), the third whole."""
    first, second, third = os.urandom(3_000_001), os.urandom(2_000_000), b"x" * 70_000
    requests = [_post("piece=65537", first), _post("take=1990000", second), _post("piece=4096", third)]

    answers = _exchange(*server, requests)

    assert answers == [
        {"reader": "_gunicorn_reader", "read": len(first), "sha256": hashlib.sha256(first).hexdigest()},
        {"reader": "_gunicorn_reader", "read": 1_990_000, "sha256": hashlib.sha256(second[:1_990_000]).hexdigest()},
        {"reader": "_gunicorn_reader", "read": len(third), "sha256": hashlib.sha256(third).hexdigest()},
    ]


def test_a_client_that_leaves_mid_body_costs_the_connection_only(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(_post("", b"y" * 10)[:-5].replace(b"Content-Length: 10", b"Content-Length: 500000"))
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(65536) == b""  # no answer: the body never ended; gunicorn closed

    assert _exchange(port, True, [_post("", b"fine")]) == [
        {"reader": "_gunicorn_reader", "read": 4, "sha256": hashlib.sha256(b"fine").hexdigest()}
    ]
