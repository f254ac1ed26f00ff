"""The upload's multipart body, streamed into storage (ingestion/upload_handler.py,
ingestion/upload_file.py): exact bytes and hash whatever falls on a buffer's edge, the form
rules DRF's parser had, and malformed bodies refused without leaving a file behind."""

import hashlib
import io
import os
from pathlib import Path

import pytest
from rest_framework.exceptions import ParseError

from ingestion import upload_file, upload_handler
from ingestion.models import ImportJob
from ingestion.upload_handler import StoredUpload, form_receive
from tests.ingestion.workbooks import clean_rows, workbook_bytes

BOUNDARY = b"----h7Boundary0123456789"


def _part(name: str, content: bytes, filename: str | None = None, extra: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return (
        b"--" + BOUNDARY + b"\r\n"
        + f"Content-Disposition: {disposition}\r\n{extra}Content-Type: application/octet-stream\r\n\r\n".encode()
        + content + b"\r\n"
    )  # fmt: skip


def _body(*parts: bytes, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    return preamble + b"".join(parts) + b"--" + BOUNDARY + b"--\r\n" + epilogue


def _reader(body: bytes, piece: int):
    stream = io.BytesIO(body)

    def readinto(view: memoryview) -> int:
        data = stream.read(min(len(view), piece))
        view[: len(data)] = data
        return len(data)

    return readinto


def _receive(body: bytes, directory: Path, piece: int = 1 << 20) -> dict:
    fields: dict = {}
    try:
        form_receive(_reader(body, piece), BOUNDARY, directory, fields)
    except BaseException:
        if isinstance(fields.get("file"), StoredUpload):
            fields["file"].close()
        raise
    return fields


@pytest.fixture
def small_buffers(monkeypatch):
    """Buffers of a few KB, so that boundaries and staging flushes fall everywhere."""
    monkeypatch.setattr(upload_handler, "READ_SIZE", 4096)
    monkeypatch.setattr(upload_file, "STAGE_SIZE", 8192)


@pytest.mark.parametrize("size", [0, 1, 4000, 4050, 4096, 4100, 8191, 8192, 8193, 20_000, 65_537])
@pytest.mark.parametrize("piece", [7, 1000, 4096])
def test_the_file_part_is_stored_exactly_wherever_the_buffers_cut(tmp_path, small_buffers, size, piece):
    content = os.urandom(size)
    body = _body(_part("note", b"x" * 5000), _part("file", content, "t.xlsx"), preamble=b"ignored\r\n")

    fields = _receive(body, tmp_path, piece)

    upload = fields["file"]
    assert (upload.name, upload.size, upload.sha256) == ("t.xlsx", size, hashlib.sha256(content).hexdigest())
    assert upload.path.read_bytes() == content
    upload.close()
    assert list(tmp_path.iterdir()) == []


def test_content_that_almost_holds_the_delimiter_is_kept(tmp_path, small_buffers):
    near_misses = b"\r\n--" + BOUNDARY[:-1] + b"X" + b"\r\n-" + b"\r\n--" + BOUNDARY[:10]
    content = (os.urandom(4090) + near_misses) * 3

    upload = _receive(_body(_part("file", content, "t.xlsx")), tmp_path, 999)["file"]

    assert upload.path.read_bytes() == content
    upload.close()


def test_without_o_direct_the_same_bytes_land(tmp_path, small_buffers, monkeypatch):
    monkeypatch.delattr(os, "O_DIRECT")
    content = os.urandom(30_001)

    upload = _receive(_body(_part("file", content, "t.xlsx")), tmp_path)["file"]

    assert (upload.path.read_bytes(), upload.sha256) == (content, hashlib.sha256(content).hexdigest())
    upload.close()


def test_the_first_file_part_named_file_wins_and_other_parts_are_dropped(tmp_path):
    body = _body(
        _part("other", b"a" * 100, "other.xlsx"),
        _part("file", b"", ""),  # no file name: skipped, as Django skips it
        _part("file", b"first", "first.xlsx", extra="X-Padding: yes\r\n"),
        _part("file", b"second", "second.xlsx"),
        epilogue=b"trailing words",
    )

    fields = _receive(body, tmp_path)

    assert set(fields) == {"file"}
    assert (fields["file"].name, fields["file"].path.read_bytes()) == ("first.xlsx", b"first")
    fields["file"].close()


def test_a_file_name_is_reduced_to_its_base_name(tmp_path):
    upload = _receive(_body(_part("file", b"z", "..\\..\\dir/a&amp;b.xlsx")), tmp_path)["file"]

    assert upload.name == "a&b.xlsx"
    upload.close()


def test_a_plain_field_named_file_is_text(tmp_path):
    assert _receive(_body(_part("file", b"y" * 5000)), tmp_path) == {"file": "y" * 1024}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"no boundary at all", "the body ended before the closing boundary."),
        (_part("file", b"abc", "t.xlsx"), "the body ended before the closing boundary."),
        (b"--" + BOUNDARY + b"junk\r\n\r\n", "a boundary line is not followed by a line break."),
        (b"--" + BOUNDARY + b"\r\nX-Long: " + b"h" * 20_000, "a part's headers are too long or never end."),
        (
            _body(_part("file", b"abc", "t.xlsx", extra="Content-Transfer-Encoding: base64\r\n")),
            "Content-Transfer-Encoding 'base64' is not supported; send the file as is.",
        ),
    ],
    ids=["no-boundary", "no-closing-boundary", "junk-after-boundary", "endless-headers", "base64"],
)
def test_a_malformed_body_is_a_parse_error_and_leaves_no_file(tmp_path, body, reason):
    with pytest.raises(ParseError) as raised:
        _receive(body, tmp_path)

    assert str(raised.value.detail) == f"Multipart form parse error - {reason}"
    assert list(tmp_path.iterdir()) == []


def test_more_parts_than_django_allows_fields_is_refused(tmp_path, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3

    with pytest.raises(ParseError, match="more than 3 parts"):
        _receive(_body(*[_part(f"f{n}", b"v") for n in range(4)]), tmp_path)


# --- through the API (Django's test client: the generic reader) ----------------------------


def _post_raw(client, body: bytes, content_type: str = f"multipart/form-data; boundary={BOUNDARY.decode()}"):
    return client.generic("POST", "/api/files/upload", body, content_type=content_type)


@pytest.mark.django_db
def test_a_raw_multipart_upload_is_accepted_and_hashed(admin_client, settings):
    content = workbook_bytes(clean_rows(3))

    response = _post_raw(admin_client, _body(_part("note", b"hello"), _part("file", content, "raw.xlsx")))

    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["processId"])
    assert (job.filename, job.size_bytes, job.sha256) == ("raw.xlsx", len(content), hashlib.sha256(content).hexdigest())
    imports = Path(settings.MEDIA_ROOT) / "imports"
    assert (imports / f"{job.pk}.xlsx").read_bytes() == content
    assert list(imports.glob(".incoming-*")) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type", "status", "expected"),
    [
        (
            b'{"file": "x"}',
            "application/json",
            415,
            {"message": 'Unsupported media type "application/json" in request.', "code": "unsupported_media_type"},
        ),
        (
            b"--x--",
            "multipart/form-data",
            400,
            {"message": "Multipart form parse error - Invalid boundary in multipart: ''", "code": "malformed_request"},
        ),
        (
            _body(_part("file", b"text")),
            None,
            400,
            {"message": "The request is invalid.", "code": "validation_error"},
        ),
        (
            _body(_part("file", b"PK", "t.xlsx"))[:-10],
            None,
            400,
            {
                "message": "Multipart form parse error - the body ended before the closing boundary.",
                "code": "malformed_request",
            },
        ),
    ],
    ids=["json", "no-boundary-parameter", "file-as-text", "truncated"],
)
def test_refusals_through_the_api(admin_client, settings, body, content_type, status, expected):
    response = _post_raw(admin_client, body, *([content_type] if content_type else []))

    assert response.status_code == status
    assert {key: response.json()[key] for key in expected} == expected
    assert ImportJob.objects.count() == 0
    assert list((Path(settings.MEDIA_ROOT) / "imports").glob(".incoming-*")) == []
