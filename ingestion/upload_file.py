"""Writing an upload to its file while hashing it, off the receiving thread.

`PartFile.write(view)` copies the bytes into one of two staging buffers and returns; a full
buffer is written by one thread and hashed (SHA-256; hashlib releases the GIL) by another
while the caller receives the next bytes. The file is opened with O_DIRECT where the
filesystem allows it: the bytes go from the staging buffer to the disk without new page-cache
pages. On this project's machine (a VM) a page is slow to get the first time: writing 107 MB
through the page cache took 90-740 ms, with O_DIRECT a steady 120-130 ms (docs/benchmarks.md,
"Upload"); the worker that later reads the file pays for the pages instead, once, off the
request. O_DIRECT needs aligned buffers, offsets and lengths: the staging buffers are
anonymous mappings (page-aligned), every write but the last is a whole buffer, the last is
rounded up to the block and the file cut back to its size. Where O_DIRECT is refused (tmpfs,
some network filesystems) the same writes go through the page cache.
"""

import errno
import hashlib
import mmap
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

STAGE_SIZE = 4 * 1024 * 1024
_BLOCK = 4096  # O_DIRECT alignment that every Linux block device accepts
_cache = threading.local()


def _staging_buffers() -> list[mmap.mmap]:
    """Two staging buffers per thread, kept: memory touched once is fast to write again."""
    buffers = getattr(_cache, "buffers", None)
    if buffers is None:
        buffers = _cache.buffers = [mmap.mmap(-1, STAGE_SIZE) for _ in range(2)]
    return buffers


class PartFile:
    """A new file (created exclusively) written in the background; `size` and `sha256` (hex)
    are final after the `with` block ends without an error."""

    def __init__(self, path: Path):
        self.path = path
        self.fd, self.direct = _open(path)
        self.buffers = _staging_buffers()
        self.pending: list[list[Future]] = [[], []]
        self.current, self.filled, self.offset = 0, 0, 0
        self.digest = hashlib.sha256()
        self.size, self.sha256 = 0, None
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-write")
        self.hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-sha256")

    def __enter__(self) -> "PartFile":
        return self

    def write(self, view: memoryview) -> None:
        while view:
            room = STAGE_SIZE - self.filled
            taken = view[:room]
            self.buffers[self.current][self.filled : self.filled + len(taken)] = taken
            self.filled += len(taken)
            view = view[len(taken) :]
            if self.filled == STAGE_SIZE:
                self._flush()

    def _flush(self) -> None:
        """Hands the current buffer to the writer and the hasher, and takes the other one
        once they are done with it."""
        index, length, offset = self.current, self.filled, self.offset
        data = memoryview(self.buffers[index])
        self.pending[index] = [
            self.writer.submit(self._pwrite, data, length, offset),
            self.hasher.submit(self.digest.update, data[:length]),
        ]
        self.size += length
        self.offset += length
        self.current, self.filled = 1 - index, 0
        self._wait(self.current)

    def _wait(self, index: int) -> None:
        pending, self.pending[index] = self.pending[index], []
        for future in pending:
            future.result()

    def _pwrite(self, data: memoryview, length: int, offset: int) -> None:
        if self.direct:
            # Whole blocks only: past `length` is stale staging memory, cut off in __exit__.
            rounded = -(-length // _BLOCK) * _BLOCK
            try:
                _pwrite_all(self.fd, data[:rounded], offset)
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                self._buffered()  # the filesystem took the flag but not the write
        _pwrite_all(self.fd, data[:length], offset)

    def _buffered(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)
        os.close(self.fd)
        self.fd, self.direct = fd, False

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None and self.filled:
                self._flush()
            for index in (0, 1):
                try:
                    self._wait(index)
                except Exception:
                    if exc_type is None:
                        raise  # else the error that ended the block is the one to report
            if exc_type is None:
                os.ftruncate(self.fd, self.size)
                self.sha256 = self.digest.hexdigest()
        finally:
            self.writer.shutdown()
            self.hasher.shutdown()
            os.close(self.fd)


def _open(path: Path) -> tuple[int, bool]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    direct = getattr(os, "O_DIRECT", 0)
    if direct:
        try:
            return os.open(path, flags | direct, 0o600), True
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
    return os.open(path, flags, 0o600), False


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
