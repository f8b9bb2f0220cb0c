"""An image's filesystem as its layers make it, kept only for the files the readers want.

Layers apply in order. A layer's whiteouts (`.wh.NAME` removes NAME and all under it;
`.wh..wh..opq` empties its directory) remove what lower layers put there, never what the
same layer adds, whatever order its tar lists them in. Symbolic links are recorded, never
followed out of the image: a link resolves inside the image's root, where `..` stops at `/`
(as in a chroot), so a link to `../../etc/passwd` names the image's `/etc/passwd`.
"""

import posixpath

import msgspec

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
MAX_LINK_HOPS = 40


class Entry(msgspec.Struct, frozen=True):
    """One member of a layer, as the overlay sees it."""

    path: str  # normalized, relative to the root, no leading `/`
    kind: str  # file, symlink, hardlink, whiteout, opaque, other
    data: bytes = b""
    target: str = ""  # where a link points


def clean_path(name: str) -> str | None:
    """A member name as a path inside the root, or None when it climbs out (`../x`)."""
    path = posixpath.normpath("/" + name.replace("\\", "/")) if name else "/"
    if any(part == ".." for part in name.replace("\\", "/").split("/")):
        return None
    return path.lstrip("/") or None


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory + "/")


class Overlay:
    """The wanted files and the symbolic links of an image, layer after layer."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.links: dict[str, str] = {}

    def apply(self, entries: list[Entry]) -> None:
        """Put one layer on top: first its whiteouts remove from the layers below, then its
        files and links replace what was at their paths."""
        removed = [e for e in entries if e.kind in ("whiteout", "opaque")]
        for entry in removed:
            for store in (self.files, self.links):
                if entry.kind == "opaque":
                    doomed = [p for p in store if p.startswith(entry.path + "/")]
                else:
                    doomed = [p for p in store if _under(p, entry.path)]
                for path in doomed:
                    del store[path]
        for entry in entries:
            if entry.kind == "file":
                self.links.pop(entry.path, None)
                self.files[entry.path] = entry.data
            elif entry.kind == "symlink":
                self.files.pop(entry.path, None)
                self.links[entry.path] = entry.target
            elif entry.kind == "hardlink":
                source = clean_path(entry.target)
                data = self.files.get(source) if source else None
                if data is not None:
                    self.links.pop(entry.path, None)
                    self.files[entry.path] = data
            elif entry.kind == "other":  # a directory, device or fifo now stands there
                self.links.pop(entry.path, None)
                self.files.pop(entry.path, None)

    def resolve(self, path: str) -> str:
        """The path with every symbolic link on it followed inside the root."""
        parts = [p for p in path.split("/") if p]
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/".join(done + [part])
            target = self.links.get(candidate)
            if target is None:
                done.append(part)
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                return candidate
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
        return "/".join(done)

    def read(self, path: str) -> bytes | None:
        """A wanted file's bytes as a process in the image would read them at `path`."""
        return self.files.get(self.resolve(path))

    def view(self, paths: tuple[str, ...] = ()) -> dict[str, bytes]:
        """The wanted files, plus the given paths read through links (`etc/os-release` is
        a link to `../usr/lib/os-release` on Debian)."""
        out = dict(self.files)
        for path in paths:
            data = self.read(path)
            if data is not None:
                out[path] = data
        return out
