"""Reading a Helm chart's content layer (a gzip'd tar) for Harbor's chart additions.

The layer is read as a stream, never unpacked to disk, with Helm's own limits: at most
100 MiB decompressed in all and 5 MiB for one file. A chart that breaks a limit, is not a
gzip'd tar, or hides its files behind oversized tar headers is refused with
`ChartUnreadable` (a 422), so a tar bomb or a huge values.yaml costs bounded memory and
time. Only `<chart>/values.yaml`, `<chart>/README.md`, `<chart>/Chart.yaml` and
`<chart>/requirements.yaml` of the chart's own directory are kept: paths with `..`, absolute
paths, links and the files of subcharts are ignored, as Helm's loader would not take them
for the chart's own."""

import gzip
import io
import tarfile
import zlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import yaml

from domain.errors import Unprocessable

MAX_DECOMPRESSED_BYTES = 100 * 1024 * 1024  # Helm's MaxDecompressedChartSize
MAX_FILE_BYTES = 5 * 1024 * 1024  # Helm's MaxDecompressedFileSize
MAX_METADATA_BYTES = 1024 * 1024  # Chart.yaml / requirements.yaml, parsed as YAML
MAX_MEMBERS = 10_000
MAX_SPECIAL_HEADER_BYTES = 64 * 1024  # pax and GNU long-name headers are read whole
_KEPT = {"values.yaml": "values", "readme.md": "readme", "chart.yaml": "chart",
         "requirements.yaml": "requirements"}
_SPECIAL_TYPES = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                  tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ChartUnreadable(Unprocessable):
    """A chart layer Tidemark will not read (answered 422)."""


@dataclass
class ChartFiles:
    """The files of a chart's own directory that Harbor's additions show (text, or None)."""

    values: str | None = None
    readme: str | None = None
    dependencies: list[dict] = field(default_factory=list)


class _Chunks(io.RawIOBase):
    """A file over an iterator of byte chunks (a blob read from storage)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = bytes(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _Budget:
    """The decompressed stream, refusing to go past the chart size limit."""

    def __init__(self, source) -> None:
        self._source = source
        self.used = 0

    def read(self, size: int = -1) -> bytes:
        size = 64 * 1024 if size is None or size < 0 else size
        data = self._source.read(min(size, MAX_DECOMPRESSED_BYTES - self.used + 1))
        self.used += len(data)
        if self.used > MAX_DECOMPRESSED_BYTES:
            raise ChartUnreadable("the chart is larger than 100 MiB decompressed")
        return data


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses extended headers that tarfile would read into memory whole."""

    def _proc_member(self, tar):
        if self.type in _SPECIAL_TYPES and self.size > MAX_SPECIAL_HEADER_BYTES:
            raise ChartUnreadable("the chart has an oversized tar header")
        return super()._proc_member(tar)


def _chart_path(name: str) -> tuple[str, str] | None:
    """(chart directory, file name) for a file directly in a chart's directory."""
    parts = name.removeprefix("./").split("/")
    if len(parts) != 2 or parts[0] in ("", ".", "..") or "\\" in name:
        return None
    return parts[0], parts[1].lower()


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _dependencies(metadata: bytes | None) -> list[dict] | None:
    """The `dependencies` of Chart.yaml (or requirements.yaml), as Harbor lists them."""
    if metadata is None:
        return None
    if len(metadata) > MAX_METADATA_BYTES:
        raise ChartUnreadable("the chart's Chart.yaml or requirements.yaml is larger than 1 MiB")
    try:
        document = yaml.load(metadata, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        raise ChartUnreadable("the chart's Chart.yaml or requirements.yaml is not valid YAML")
    entries = document.get("dependencies") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None
    found = []
    for entry in entries[:MAX_MEMBERS]:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            item = {key: str(entry.get(key) or "") for key in ("name", "version", "repository")}
            item.update({key: entry[key] for key in ("alias", "condition")
                         if isinstance(entry.get(key), str)})
            found.append(item)
    return found


def read_chart(chunks: Iterable[bytes]) -> ChartFiles:
    """The values, readme and dependencies of a chart layer given as byte chunks."""
    kept: dict[str, bytes] = {}
    directory = None
    try:
        with gzip.GzipFile(fileobj=io.BufferedReader(_Chunks(chunks))) as unzipped:
            stream = _Budget(unzipped)
            with tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo) as tar:
                for count, member in enumerate(tar, 1):
                    if count > MAX_MEMBERS:
                        raise ChartUnreadable(f"the chart has more than {MAX_MEMBERS} files")
                    tar.members.clear()  # a stream keeps every member seen otherwise
                    place = _chart_path(member.name)
                    if place is None or not member.isreg():
                        continue
                    directory = directory or place[0]
                    slot = _KEPT.get(place[1])
                    if slot is None or place[0] != directory:
                        continue
                    if member.size > MAX_FILE_BYTES:
                        raise ChartUnreadable(f"{member.name[:200]} is larger than 5 MiB")
                    kept[slot] = tar.extractfile(member).read(MAX_FILE_BYTES)
    except ChartUnreadable:
        raise
    except (OSError, EOFError, zlib.error, tarfile.TarError, ValueError):
        raise ChartUnreadable("the chart layer is not a readable gzip'd tar archive")
    dependencies = _dependencies(kept.get("chart"))
    if dependencies is None:
        dependencies = _dependencies(kept.get("requirements")) or []
    return ChartFiles(values=_text(kept["values"]) if "values" in kept else None,
                      readme=_text(kept["readme"]) if "readme" in kept else None,
                      dependencies=dependencies)
