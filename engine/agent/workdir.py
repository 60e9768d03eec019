"""The runners' working directory: confined file writes and seeded directories.

Stdlib only: bind-mounted into sandboxes beside ``protocol.py``, shared by the one-shot
agent and the session runner.
"""

import contextlib
import errno
import os
import shutil
import stat

from protocol import b64decode  # type: ignore[import-not-found]  # lies beside this script in the sandbox


def path_parts(relative: str) -> list[str]:
    """The components of a request path; ValueError for an absolute path, ``..``, ``.`` or an empty part."""
    parts = relative.replace("\\", "/").split("/")
    if relative.startswith("/") or "\x00" in relative or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"invalid file path {relative!r}: it must be relative and stay inside the workspace")
    return parts


def write_files(root: str, files: dict[str, str], *, keep_existing: bool = False) -> None:
    """Write base64 ``files`` under ``root``, creating directories; every path is checked before any is written.

    A path that runs through a symbolic link, or ends on one or on anything but a regular
    file, is refused (ValueError): nothing is ever written outside ``root``.
    ``keep_existing``: leave files that already exist untouched.
    """
    checked = [(relative, path_parts(relative), b64decode(encoded)) for relative, encoded in files.items()]
    for relative, parts, data in checked:
        try:
            _write_confined(root, parts, data, keep_existing)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise ValueError(f"refusing to write {relative!r}: it runs through a symbolic link or a file") from exc
            raise


def _write_confined(root: str, parts: list[str], data: bytes, keep_existing: bool) -> None:
    # Walking with O_NOFOLLOW from directory descriptors: no component can be swapped for a symlink on the way.
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=directory)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
            os.close(directory)
            directory = inner
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_EXCL if keep_existing else 0)
        try:
            fd = os.open(parts[-1], flags, 0o666, dir_fd=directory)
        except FileExistsError:
            return
    finally:
        os.close(directory)
    with os.fdopen(fd, "wb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"refusing to write {'/'.join(parts)!r}: it is not a regular file")
        handle.truncate(0)
        handle.write(data)


def seed_directories() -> None:
    """Copy read-only seeds from the image into writable tmpfs (e.g. a Go build cache).

    ``FAAS_AGENT_SEED`` lists them as ``source:target`` pairs, separated by commas.
    """
    for pair in filter(None, os.environ.get("FAAS_AGENT_SEED", "").split(",")):
        source, _, target = pair.partition(":")
        if os.path.isdir(source) and not os.path.exists(target):
            shutil.copytree(source, target, symlinks=True)
