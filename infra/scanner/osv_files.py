"""Reading OSV records from what an operator downloads: osv.dev's per-ecosystem zip dumps
(one JSON file per record), a JSON file (one record or a list), or a directory of them.

Records come out one at a time with a label naming where they were read
(`all.zip:GHSA-xxxx.json`), so the import names the file of a bad record, and a dump is
never held in memory whole. A file that is not JSON is an InvalidRecord of its own.
"""

import zipfile
from pathlib import Path
from typing import Iterator

import msgspec

from domain.scanning.osv import InvalidRecord

MAX_FILE_BYTES = 64 * 1024 ** 2  # one record file; osv.dev's largest are a few MB


class Sources:
    """The files an import reads, counted first so progress can show a bar."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = [Path(p) for p in paths]
        for path in self.paths:
            if not path.exists():
                raise FileNotFoundError(f"{path}: no such file or directory")
        self.total = sum(self._count(p) for p in self.paths)

    @staticmethod
    def _files(directory: Path) -> list[Path]:
        return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".zip"))

    def _count(self, path: Path) -> int:
        if path.is_dir():
            return sum(self._count(p) for p in self._files(path))
        if path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    return sum(1 for info in archive.infolist() if info.filename.lower().endswith(".json"))
            except zipfile.BadZipFile:
                raise InvalidRecord(f"{path}: not a zip archive") from None
        return 1

    def records(self, done_file=lambda: None) -> Iterator[tuple[str, object]]:
        """(label, record) for every record; `done_file()` after each file."""
        for path in self.paths:
            files = self._files(path) if path.is_dir() else [path]
            for file in files:
                label = str(file.relative_to(path)) if path.is_dir() else file.name
                if file.suffix.lower() == ".zip":
                    yield from self._zip(file, label, done_file)
                else:
                    if file.stat().st_size > MAX_FILE_BYTES:
                        raise InvalidRecord(f"{label}: larger than {MAX_FILE_BYTES} bytes")
                    yield from _decoded(label, file.read_bytes())
                    done_file()

    @staticmethod
    def _zip(file: Path, label: str, done_file) -> Iterator[tuple[str, object]]:
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.lower().endswith(".json"):
                    continue
                name = f"{label}:{info.filename}"
                if info.file_size > MAX_FILE_BYTES:
                    raise InvalidRecord(f"{name}: larger than {MAX_FILE_BYTES} bytes")
                with archive.open(info) as member:
                    data = member.read(MAX_FILE_BYTES + 1)
                if len(data) > MAX_FILE_BYTES:
                    raise InvalidRecord(f"{name}: larger than {MAX_FILE_BYTES} bytes")
                yield from _decoded(name, data)
                done_file()


def _decoded(label: str, data: bytes) -> Iterator[tuple[str, object]]:
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError as error:
        raise InvalidRecord(f"{label}: not valid JSON ({error})") from None
    if isinstance(value, list):
        for index, record in enumerate(value):
            yield f"{label}[{index}]", record
    else:
        yield label, value
