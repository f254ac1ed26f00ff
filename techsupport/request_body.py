"""Reading a request body into a buffer at the socket's speed.

gunicorn hands the application its body through `wsgi.input`, a reader that goes through two
`BytesIO` buffers: every byte is copied four or five times in Python before the application
sees it. For a 100 MB upload that alone took 250-550 ms on a 2-core machine, against 50-150 ms
for `recv_into` on the socket (docs/benchmarks.md, "Upload"). `body_reader(request)` returns a
`readinto(view) -> int` over the rest of the body:

- under gunicorn with a body of known length (always, past BodySizeLimitMiddleware), it takes
  the bytes gunicorn already read ahead, then `recv_into` straight from the client's socket,
  and lowers gunicorn's own count of unread body bytes by what it took — so whatever the
  application leaves unread is drained by gunicorn as before, and keep-alive stays correct;
  a read that fails marks the body failed, and gunicorn closes the connection;
- anywhere else (the development server, the test client, another WSGI server, a gunicorn
  version whose readers look different), `request.read`.

Either way the request counts as read (`request.read(0)`), so Django refuses to parse the body
a second time.
"""

from collections.abc import Callable

ReadInto = Callable[[memoryview], int]


class ClientDisconnected(ConnectionError):
    """The client closed the connection before the body it announced was complete."""


def body_reader(request) -> ReadInto:
    """`readinto(view)`: fills the start of `view` with the next body bytes and returns how many
    (0 at the end of the body). `request` is Django's request (DRF's `request._request`)."""
    request.read(0)
    fast = _gunicorn_reader(request.META)
    return fast if fast is not None else _stream_reader(request)


def _stream_reader(request) -> ReadInto:
    def readinto(view: memoryview) -> int:
        data = request.read(len(view))
        view[: len(data)] = data
        return len(data)

    return readinto


def _gunicorn_reader(environ: dict) -> ReadInto | None:
    try:
        from gunicorn.http.body import Body, LengthReader
        from gunicorn.http.unreader import SocketUnreader
    except ImportError:
        return None
    body = environ.get("wsgi.input")
    sock = environ.get("gunicorn.socket")
    if type(body) is not Body or type(body.reader) is not LengthReader or body.buf.tell():
        return None
    reader = body.reader
    unreader = reader.unreader
    if not isinstance(unreader, SocketUnreader) or unreader.sock is not sock:
        return None

    def readinto(view: memoryview) -> int:
        want = min(len(view), reader.length)
        if want <= 0:
            return 0
        try:
            held = unreader.buf.tell()
            if held:  # read ahead with the request's headers: served from gunicorn's buffer
                data = unreader.read(min(want, held))
                view[: len(data)] = data
                got = len(data)
            else:
                got = sock.recv_into(view, want)
            if not got:
                raise ClientDisconnected("The client closed the connection in the middle of the body.")
        except OSError:
            body.failed = True  # where the next request starts is unknown: gunicorn closes
            raise
        reader.length -= got
        return got

    return readinto
