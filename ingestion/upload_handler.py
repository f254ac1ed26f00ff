"""The upload's multipart body streamed into storage, hashed on the way, never parsed in memory.

Django's multipart parser reads the body through chains of Python iterators in 1 MB pieces,
and under gunicorn through gunicorn's own buffers: a 107 MB upload took 0.5-1.1 s to its 202,
nearly all of it copying bytes in Python (docs/benchmarks.md, "Upload"). Here the body is read
in 4 MB pieces at the socket's speed (techsupport/request_body.py) into two alternating
buffers; part boundaries are found with `bytearray.find` (C); the `file` part's bytes are
written from the buffer straight into a part file inside the storage's own `imports/`
directory, while a helper thread computes the SHA-256 of the same bytes (hashlib releases the
GIL), so the service only renames the file into place and never reads it again.

What the view sees is what DRF's parser would have given it: `{"file": <upload>}` for a file
part named `file` (the first one; a part without a file name is skipped, as Django does),
`{"file": "<text>"}` for a plain field of that name, `{}` without one — validated by the same
serializer, so the errors are the same. A body that is not multipart is 415, a malformed one
400 `malformed_request`.

Used when the default storage is on the local filesystem (`storage.path()`); otherwise DRF's
parser and Django's handlers apply, and the service hashes the file itself.
"""

import html
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError, UnsupportedMediaType

from ingestion.upload_file import PartFile
from techsupport.request_body import body_reader

UPLOAD_FIELD = "file"
INCOMING_DIR = "imports"
READ_SIZE = 4 * 1024 * 1024
# A part's headers, and the text kept of a plain `file` field (the serializer only needs to
# see that it is not a file).
MAX_PART_HEADER_BYTES = 16 * 1024
MAX_FIELD_TEXT = 1024
MAX_BOUNDARY = 200  # RFC 2046 allows 70


class StoredUpload(UploadedFile):
    """An upload already on the storage's filesystem, with its SHA-256 (hex)."""

    def __init__(self, path: Path, name: str, content_type: str, size: int, sha256: str, charset=None):
        super().__init__(path.open("rb"), name, content_type, size, charset)
        self.path = path
        self.sha256 = sha256

    def temporary_file_path(self) -> str:
        """FileSystemStorage moves a file that has this, instead of copying it."""
        return str(self.path)

    def close(self):
        try:
            return self.file.close()
        finally:
            # Moved into place by storage, or never used (a refused upload): no part file stays.
            self.path.unlink(missing_ok=True)


def storage_directory() -> Path | None:
    """The local directory storage keeps imports in, or None for a remote storage."""
    try:
        return Path(default_storage.path(INCOMING_DIR))
    except NotImplementedError:
        return None


@contextmanager
def upload_received(request, directory: Path) -> Iterator[dict]:
    """The request's form fields as DRF's parser would give them to the view (see the module
    docstring), the `file` part already stored under `directory`. The part file is removed on
    leaving unless storage moved it into place."""
    boundary = _boundary(request)
    fields: dict = {}
    try:
        try:
            form_receive(body_reader(request._request), boundary, directory, fields)
        except ConnectionError as exc:  # ClientDisconnected too: the client went away
            raise _malformed("the client closed the connection before the body ended.") from exc
        yield fields
    finally:
        upload = fields.get(UPLOAD_FIELD)
        if isinstance(upload, StoredUpload):
            upload.close()


def form_receive(readinto, boundary: bytes, directory: Path, fields: dict) -> None:
    """Reads a multipart/form-data body with `readinto` (techsupport/request_body.py) into
    `fields` (filled as it goes, so the caller can clean up after an error). Raises ParseError
    for a malformed body."""
    _Multipart(readinto, boundary, directory, fields).parse()


def _boundary(request) -> bytes:
    content_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    if content_type != "multipart/form-data":
        raise UnsupportedMediaType(request.content_type)
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > MAX_BOUNDARY or not boundary.isascii():
        raise ParseError(f"Multipart form parse error - Invalid boundary in multipart: {boundary[:MAX_BOUNDARY]!r}")
    return boundary.encode("ascii")


def _malformed(reason: str) -> ParseError:
    return ParseError(f"Multipart form parse error - {reason}")


class _Multipart:
    """One pass over the body: preamble, parts (headers, then content up to the next
    delimiter), epilogue. The window `[start, end)` of the current buffer holds the bytes not
    yet consumed; a `CRLF` is put before the body so the first delimiter is found like the
    others."""

    def __init__(self, readinto, boundary: bytes, directory: Path, fields: dict):
        self.readinto, self.directory, self.fields = readinto, directory, fields
        self.delimiter = b"\r\n--" + boundary
        self.buffers = [bytearray(READ_SIZE), bytearray(READ_SIZE)]
        self.current = 0
        self.buffers[0][:2] = b"\r\n"
        self.start, self.end, self.eof = 0, 2, False
        self.parts = 0

    @property
    def buffer(self) -> bytearray:
        return self.buffers[self.current]

    def _fill(self) -> None:
        """Moves the unconsumed bytes to the other buffer and reads after them."""
        other = 1 - self.current
        rest = self.end - self.start
        target = self.buffers[other]
        target[:rest] = memoryview(self.buffer)[self.start : self.end]
        got = self.readinto(memoryview(target)[rest:])
        self.current, self.start, self.end = other, 0, rest + got
        self.eof = got == 0

    def _find(self, needle: bytes, limit: int | None = None) -> int:
        """Position of `needle` in the window, reading more as needed (up to `limit` bytes
        of window); -1 at the end of the body or past the limit."""
        searched = self.start
        while True:
            found = self.buffer.find(needle, searched, self.end)
            if found >= 0:
                return found
            if self.eof or (limit is not None and self.end - self.start > limit):
                return -1
            searched = max(self.start, self.end - len(needle) + 1)
            offset = self.start
            self._fill()
            searched -= offset

    def parse(self) -> None:
        self._content(None)  # the preamble, up to the first delimiter
        while True:
            while self.end - self.start < 2 and not self.eof:
                self._fill()
            if self.buffer[self.start : self.start + 2] == b"--":
                return  # the closing delimiter; the epilogue is ignored (gunicorn drains it)
            self.parts += 1
            if self.parts > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
                raise _malformed(f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parts.")
            name, filename, content_type = self._part_headers()
            self._part_content(name, filename, content_type)

    def _part_headers(self) -> tuple[str | None, str | None, str]:
        line_end = self._find(b"\r\n", MAX_PART_HEADER_BYTES)
        if line_end < 0 or self.buffer[self.start : line_end].strip(b" \t"):
            raise _malformed("a boundary line is not followed by a line break.")
        # From the boundary line's own CRLF: a part without headers is CRLF CRLF.
        self.start = line_end
        headers_end = self._find(b"\r\n\r\n", MAX_PART_HEADER_BYTES)
        if headers_end < 0:
            raise _malformed("a part's headers are too long or never end.")
        block = bytes(self.buffer[self.start + 2 : headers_end])
        self.start = headers_end + 4
        name = filename = None
        content_type = "application/octet-stream"
        for line in block.split(b"\r\n"):
            try:
                header, _, value = line.decode().partition(":")
                main, params = parse_header_parameters(value)
            except ValueError:
                continue  # undecodable header lines are skipped, as Django does
            header = header.strip().lower()
            if header == "content-disposition" and main == "form-data":
                name, filename = params.get("name"), params.get("filename")
            elif header == "content-type":
                content_type = main
            elif header == "content-transfer-encoding" and main not in ("binary", "8bit", "7bit"):
                raise _malformed(f"Content-Transfer-Encoding {main!r} is not supported; send the file as is.")
        return name, filename, content_type

    def _part_content(self, name, filename, content_type) -> None:
        if name == UPLOAD_FIELD and UPLOAD_FIELD not in self.fields:
            if filename is None:
                self.fields[UPLOAD_FIELD] = self._text()
                return
            filename = os.path.basename(html.unescape(filename).replace("\\", "/")).strip()
            if filename:
                self.fields[UPLOAD_FIELD] = self._stored(filename, content_type)
                return
        self._content(None)

    def _text(self) -> str:
        kept = bytearray()

        def keep(view: memoryview) -> None:
            kept.extend(view[: MAX_FIELD_TEXT - len(kept)])

        self._content(keep)
        return kept.decode(errors="replace")

    def _stored(self, filename: str, content_type: str) -> StoredUpload:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f".incoming-{uuid.uuid4().hex}.part"
        try:
            with PartFile(path) as part:
                self._content(part.write)
            return StoredUpload(path, filename, content_type, part.size, part.sha256)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def _content(self, sink) -> None:
        """Hands the part's bytes to `sink` (or drops them) up to the next delimiter, which it
        consumes."""
        keep = len(self.delimiter) - 1  # a delimiter may start in the last bytes read
        while True:
            found = self.buffer.find(self.delimiter, self.start, self.end)
            stop = found if found >= 0 else max(self.start, self.end - keep)
            if sink is not None and stop > self.start:
                sink(memoryview(self.buffer)[self.start : stop])
            if found >= 0:
                self.start = found + len(self.delimiter)
                return
            self.start = stop
            if self.eof:
                raise _malformed("the body ended before the closing boundary.")
            self._fill()
