"""Wire protocol between the host and the in-sandbox agent.

Stdlib only: this file is bind-mounted into sandboxes and imported by the
agent under the image's own Python, and by the host engine.

Frames are JSON objects, one per line. Binary payloads travel base64-encoded.

Host -> agent:
  {"type": "run", "files": {path: b64}, "env": {...}, "stdin": b64 | null,
   "build": [argv] | null, "artifact_path": str | null, "artifact": b64 | null,
   "run": [argv], "output_limit": int, "return_artifact": bool}
  {"type": "stdin", "data": b64}
  {"type": "stdin_eof"}

Agent -> host:
  {"type": "ready"}
  {"type": "phase", "phase": "build" | "run"}
  {"type": "output", "phase": ..., "stream": "stdout" | "stderr", "data": b64}
  {"type": "truncated", "phase": ..., "stream": ...}   (output beyond the cap is dropped)
  {"type": "artifact", "data": b64}
  {"type": "exit", "phase": ..., "exit_code": int, "truncated": bool}
  {"type": "fatal", "message": str}
"""

import base64
import json
from typing import Any

Frame = dict[str, Any]

MAX_FRAME_BYTES = 96 * 1024 * 1024
"""Upper bound of one encoded frame (an artefact frame is the largest)."""


def encode_frame(frame: Frame) -> bytes:
    """Serialise one frame to a newline-terminated JSON line."""
    return json.dumps(frame, separators=(",", ":")).encode() + b"\n"


def decode_frame(line: bytes) -> Frame:
    """Parse one JSON line into a frame; raises ValueError when malformed."""
    frame = json.loads(line)
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ValueError("frame is not an object with a string 'type'")
    return frame


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
