"""A bare WSGI app for tests/techsupport/test_request_body.py, served by real gunicorn: reads
up to `?take=N` bytes of the body (all by default) with `body_reader`, `?piece=N` bytes at a
time, and answers `{"reader", "read", "sha256"}`. GET /health answers 200 (the harness waits
for it)."""

import hashlib
import json
from urllib.parse import parse_qs

from techsupport.request_body import body_reader


class _Request:
    """What body_reader needs of Django's request."""

    def __init__(self, environ):
        self.META = environ

    def read(self, size=-1):
        return self.META["wsgi.input"].read(size)


def app(environ, start_response):
    query = {key: int(values[0]) for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    readinto = body_reader(_Request(environ))
    buffer = memoryview(bytearray(query.get("piece", 65536)))
    digest, read, take = hashlib.sha256(), 0, query.get("take", 1 << 62)
    while read < take:
        got = readinto(buffer[: min(len(buffer), take - read)])
        if not got:
            break
        digest.update(buffer[:got])
        read += got
    body = json.dumps({"reader": readinto.__qualname__.split(".")[0], "read": read, "sha256": digest.hexdigest()})
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body.encode()]
