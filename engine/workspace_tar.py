"""Workspace trees as tar archives: what ``GET``/``PUT .../files`` send and accept.

Pure: bytes in, bytes out. An archive is read into a :class:`WorkspaceTree` only after every
member has passed the checks (relative normalised names, regular files, directories, symlinks
that stay inside the archive's root); nothing is extracted by ``tarfile`` itself.
"""

from __future__ import annotations

import io
import posixpath
import tarfile

from engine.errors import TreeTooLarge, WorkspaceError
from engine.workspace import PERMISSION_BITS, WorkspaceTree, is_normal_path


def tree_to_tar(tree: WorkspaceTree, *, strip: str = "") -> bytes:
    """An uncompressed tar of ``tree``, its paths made relative to ``strip`` (a directory of the tree, or ``""``)."""
    prefix = strip + "/" if strip else ""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, kind in sorted(tree.kinds().items(), key=lambda item: item[0].split("/")):
            if path == strip or not path.startswith(prefix):
                continue
            info = tarfile.TarInfo(path[len(prefix) :])
            info.mode = tree.mode(path, kind)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, tree.symlinks[path]
                archive.addfile(info)
            else:
                content = tree.files[path]
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def tar_to_tree(data: bytes, *, max_bytes: int) -> WorkspaceTree:
    """The tree an (optionally compressed) tar archive holds, checked member by member.

    Raises:
        WorkspaceError: not a tar, or a member is absolute, has ``..``, is a device, FIFO or hard
            link, or is a symlink pointing outside the archive's root.
        TreeTooLarge: its files hold more than ``max_bytes``.
    """
    tree = WorkspaceTree()
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:
                path = _member_path(member)
                if path is None:
                    continue
                if member.isdir():
                    tree.dirs.add(path)
                    tree.modes[path] = member.mode & PERMISSION_BITS
                elif member.issym():
                    _check_link(path, member.linkname)
                    tree.symlinks[path] = member.linkname
                elif member.isreg():
                    total += member.size
                    if total > max_bytes:
                        raise TreeTooLarge(f"the archive holds more than {max_bytes} bytes", limit=max_bytes)
                    extracted = archive.extractfile(member)
                    tree.files[path] = extracted.read() if extracted else b""
                    tree.modes[path] = member.mode & PERMISSION_BITS
                else:
                    raise WorkspaceError(f"tar member {member.name!r} is a hard link, device or FIFO: refused")
    except tarfile.TarError as exc:
        raise WorkspaceError(f"not a readable tar archive: {exc}") from exc
    tree.kinds()  # a path with two kinds is refused here
    return tree


def _member_path(member: tarfile.TarInfo) -> str | None:
    name = member.name
    if name.startswith("/") or "\0" in name:
        raise WorkspaceError(f"tar member {name!r} has an absolute path: refused")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise WorkspaceError(f"tar member {name!r} goes up with '..': refused")
    return "/".join(parts) or None


def _check_link(path: str, target: str) -> None:
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if target.startswith("/") or not is_normal_path(resolved) or resolved == ".":
        raise WorkspaceError(f"tar member {path!r} links to {target!r}, outside the archive: refused")
