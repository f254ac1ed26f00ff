"""Uploads written once, where storage keeps them, hashed on the way.

Django's default handlers spool a large upload to a temporary file, then the service read it
again to hash it and storage copied it (/tmp and the media directory are often different
filesystems): three passes over 100 MB before the 202. `StoredUploadHandler` writes the `file`
field's bytes straight into a part file inside the storage's own `imports/` directory while it
computes the SHA-256, so `import_job_create` only renames it into place (FileSystemStorage moves
a file that has a path) and never re-reads it. The multipart body is parsed in 1 MB chunks and
never held in memory.

Used when the default storage is on the local filesystem (`storage.path()`); otherwise Django's
handlers and the service's own hashing apply.
"""

import hashlib
import os
import uuid
from pathlib import Path

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers

UPLOAD_FIELD = "file"
INCOMING_DIR = "imports"


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


class StoredUploadHandler(FileUploadHandler):
    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.directory = storage_directory()
        self.part = None

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        if field_name != UPLOAD_FIELD or self.directory is None:
            return  # not ours: the next handler, if any, takes it
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f".incoming-{uuid.uuid4().hex}.part"
        self.part = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        self.digest = hashlib.sha256()
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        if self.part is None:
            return raw_data
        self.digest.update(raw_data)
        self.part.write(raw_data)
        return None

    def file_complete(self, file_size):
        if self.part is None:
            return None
        self.part.close()
        self.part = None
        return StoredUpload(
            self.path, self.file_name, self.content_type, file_size, self.digest.hexdigest(), self.charset
        )

    def upload_interrupted(self):
        if self.part is not None:
            self.part.close()
            self.part = None
            self.path.unlink(missing_ok=True)
