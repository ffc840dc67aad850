"""A wall-clock deadline over a whole fetch: every socket call gets the time left, none starts once it is over."""
from __future__ import annotations

import io
import socket
import time


def remaining(deadline: float) -> float:
    """Seconds left before the deadline; TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the fetch's deadline has passed")
    return left


class DeadlineSocket:
    """A connected socket (plain or TLS) whose every read and write ends by the deadline: each call gets the time
    left as its timeout, none starts once it is over (http.client reads the status line and headers with many
    small reads, each of which a dripping server would otherwise answer just in time)."""

    def __init__(self, sock: socket.socket, deadline: float):
        self._sock, self._deadline = sock, deadline
        self._readers, self._closing = 0, False

    def _armed(self) -> socket.socket:
        self._sock.settimeout(remaining(self._deadline))
        return self._sock

    def recv(self, *args):
        return self._armed().recv(*args)

    def recv_into(self, *args):
        return self._armed().recv_into(*args)

    def send(self, *args):
        return self._armed().send(*args)

    def sendall(self, *args):
        return self._armed().sendall(*args)

    def makefile(self, mode="r", *args, **kwargs):
        """The response's file (http.client asks for "rb"): buffered reads through recv_into above."""
        if mode != "rb":
            raise ValueError(f"unsupported mode {mode!r}")
        self._readers += 1
        return io.BufferedReader(_Reader(self))

    def close(self):
        """Like socket.close: the socket closes once the response's file is closed too."""
        self._closing = True
        if not self._readers:
            self._sock.close()

    def _reader_closed(self):
        self._readers -= 1
        if self._closing and not self._readers:
            self._sock.close()

    def __getattr__(self, name):  # fileno, getpeercert, setsockopt...
        return getattr(self._sock, name)


class _Reader(io.RawIOBase):
    def __init__(self, sock: DeadlineSocket):
        super().__init__()
        self._sock = sock

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._sock.recv_into(buffer)

    def close(self):
        if not self.closed:
            super().close()
            self._sock._reader_closed()  # noqa: SLF001 - its own socket
