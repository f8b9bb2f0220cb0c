"""Reading image layers as streams: nothing is extracted, so nothing is written anywhere.

A layer (plain tar, gzip or zstd, told apart by its first bytes) is read member by member
through a decompressor whose output is counted: past the scan's budget of uncompressed
bytes, members or kept metadata, or a metadata file larger than the member limit, the scan
gives up with a LayerRefused naming the layer and the limit. Names that climb out of the
root (`../`) are skipped; links are recorded as text, never followed here; devices, fifos
and directories only shadow what lower layers had at their path.
"""

import gzip
import tarfile
from pathlib import Path
from typing import Callable

import msgspec
import zstandard

from domain.scanning.overlay import OPAQUE, WHITEOUT, Entry, clean_path

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1024 * 1024


class LayerRefused(Exception):
    """A layer the scanner will not read further (the message says which and why)."""


class Cancelled(Exception):
    """The scan was stopped (the server is shutting down or the scan ran out of time)."""


class Limits(msgspec.Struct):
    uncompressed_bytes: int
    member_bytes: int
    members: int
    wanted_bytes: int


class Budget:
    """What one scan may still read, across all its layers."""

    def __init__(self, limits: Limits, cancelled: Callable[[], bool] = lambda: False) -> None:
        self.limits = limits
        self.uncompressed = 0
        self.members = 0
        self.wanted = 0
        self.cancelled = cancelled


class _Counted:
    """A decompressed stream that stops the scan when it expands past the budget."""

    def __init__(self, stream, budget: Budget, layer: str) -> None:
        self.stream, self.budget, self.layer = stream, budget, layer

    def read(self, size: int = -1) -> bytes:
        if self.budget.cancelled():
            raise Cancelled("the scan was stopped")
        wanted = CHUNK if size is None or size < 0 else min(size, CHUNK * 16)
        data = self.stream.read(wanted)
        self.budget.uncompressed += len(data)
        if self.budget.uncompressed > self.budget.limits.uncompressed_bytes:
            raise LayerRefused(f"layer {self.layer} expands past the limit of "
                               f"{self.budget.limits.uncompressed_bytes} uncompressed bytes for one scan "
                               "(TIDEMARK_SCANNER_MAX_UNCOMPRESSED_BYTES)")
        return data


def _decompressed(handle, layer: str):
    head = handle.read(4)
    handle.seek(0)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=handle, mode="rb")
    if head.startswith(ZSTD_MAGIC):
        return zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True)
    return handle


def _entry(member: tarfile.TarInfo, path: str, tar, wanted: Callable[[str], bool], budget: Budget,
           layer: str) -> Entry | None:
    directory, _, base = path.rpartition("/")
    if base == OPAQUE:
        return Entry(path=directory, kind="opaque")
    if base.startswith(WHITEOUT):
        return Entry(path=f"{directory}/{base[len(WHITEOUT):]}".lstrip("/"), kind="whiteout")
    if member.issym():
        return Entry(path=path, kind="symlink", target=member.linkname)
    if member.islnk():
        return Entry(path=path, kind="hardlink", target=member.linkname) if wanted(path) else None
    if not member.isreg():
        return Entry(path=path, kind="other")  # directory, device, fifo: nothing is read
    if not wanted(path):
        return None
    limits = budget.limits
    if member.size > limits.member_bytes:
        raise LayerRefused(f"layer {layer}: /{path} is {member.size} bytes, more than the "
                           f"{limits.member_bytes} allowed for one metadata file (TIDEMARK_SCANNER_MAX_MEMBER_BYTES)")
    budget.wanted += member.size
    if budget.wanted > limits.wanted_bytes:
        raise LayerRefused(f"the image's package metadata passes {limits.wanted_bytes} bytes "
                           "(TIDEMARK_SCANNER_MAX_WANTED_BYTES)")
    handle = tar.extractfile(member)
    data = handle.read(member.size) if handle is not None else b""
    return Entry(path=path, kind="file", data=data)


def read_layer(file: Path, layer: str, wanted: Callable[[str], bool], budget: Budget) -> list[Entry]:
    """The entries of one layer the overlay needs: wanted files with their bytes, links,
    whiteouts, and the other members that shadow a path."""
    entries: list[Entry] = []
    with open(file, "rb") as handle:
        stream = _Counted(_decompressed(handle, layer), budget, layer)
        try:
            with tarfile.open(fileobj=stream, mode="r|", errorlevel=2) as tar:
                for member in tar:
                    budget.members += 1
                    if budget.members > budget.limits.members:
                        raise LayerRefused(f"layer {layer}: the image has more than {budget.limits.members} "
                                           "files (TIDEMARK_SCANNER_MAX_MEMBERS)")
                    path = clean_path(member.name)
                    if path is None:
                        continue  # climbs out of the root: no layer may put anything there
                    entry = _entry(member, path, tar, wanted, budget, layer)
                    if entry is not None and (entry.kind != "other" or wanted(path)):
                        entries.append(entry)
        except (tarfile.TarError, EOFError, OSError, zstandard.ZstdError) as error:
            raise LayerRefused(f"layer {layer} is not a readable tar archive ({error})") from None
    return entries
