"""Frame output shared by the in-sandbox runners (the one-shot agent and the session runners).

Stdlib only: bind-mounted into sandboxes beside ``protocol.py``.
"""

import os
import threading

from protocol import Frame, b64encode, encode_frame  # type: ignore[import-not-found]  # beside this script

READ_CHUNK = 64 * 1024
PIPE_DRAIN_GRACE_S = 0.2
"""How long a run that ended waits for output a background process still holds the pipes for."""


class FrameWriter:
    """Writes whole frames onto one file descriptor, from any thread."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, frame: Frame) -> None:
        view = memoryview(encode_frame(frame))
        with self._lock:
            while view:
                view = view[os.write(self._fd, view) :]


class OutputPump(threading.Thread):
    """Forwards one pipe as output frames up to a byte limit, then drains and drops the rest.

    ``tags`` go into every frame it sends (``phase``, and a session's request ``id``).
    Once ``detached``, what still arrives is dropped (a run ended while a background
    process kept the pipe open). ``owns_fd``: close the descriptor when the pipe ends.
    """

    def __init__(
        self, writer: FrameWriter, fd: int, stream: str, limit: int, tags: Frame, *, owns_fd: bool = False
    ) -> None:
        super().__init__(daemon=True)
        self.writer, self.fd, self.stream, self.limit, self.tags = writer, fd, stream, limit, tags
        self.owns_fd = owns_fd
        self.forwarded = 0
        self.truncated = False
        self.detached = False

    def run(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self.fd, READ_CHUNK)
                except OSError:  # e.g. EIO from a terminal whose program exited
                    break
                if not chunk:
                    break
                if not self.detached:
                    self._forward(chunk)
        finally:
            if self.owns_fd:
                os.close(self.fd)

    def _forward(self, chunk: bytes) -> None:
        room = self.limit - self.forwarded
        if len(chunk) > room:
            chunk = chunk[: max(room, 0)]
            if not self.truncated:
                self.truncated = True
                self.writer.send({**self.tags, "type": "truncated", "stream": self.stream})
        if chunk:
            self.forwarded += len(chunk)
            self.writer.send({**self.tags, "type": "output", "stream": self.stream, "data": b64encode(chunk)})
