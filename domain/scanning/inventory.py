"""What is installed in an image, read from the package managers' own records.

Each reader takes the bytes of one metadata file as the image's filesystem holds it (after
its layers are applied) and gives the packages it lists: dpkg's `status` file and the
`status.d/` files of distroless images, apk's `installed` database, Python's `METADATA` and
`PKG-INFO`, npm's `package.json` under `node_modules/` and `package-lock.json`. The
operating system comes from `os-release` and names the OSV ecosystem of OS packages
(`Debian:12`, `Ubuntu:22.04`, `Alpine:v3.19`).
"""

import json
import re
from email.parser import HeaderParser

import msgspec
from packageurl import PackageURL

DPKG_STATUS = "var/lib/dpkg/status"
DPKG_STATUS_DIR = "var/lib/dpkg/status.d/"
APK_INSTALLED = "lib/apk/db/installed"
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
_NPM_MANIFEST = re.compile(r"(?:^|/)node_modules/(@[^/]+/)?[^/@][^/]*/package\.json$")


class Package(msgspec.Struct, frozen=True, omit_defaults=True):
    """One installed package: its OSV ecosystem, name and version, and where it was read."""

    ecosystem: str  # `Debian:12`, `Alpine:v3.19`, `PyPI`, `npm`
    name: str
    version: str
    kind: str  # deb, apk, python, npm
    path: str  # the metadata file that lists it
    source_name: str = ""  # OS packages: the source package vulnerability records name
    source_version: str = ""
    arch: str = ""
    license: str = ""
    purl: str = ""


class OperatingSystem(msgspec.Struct, frozen=True):
    id: str = ""  # os-release ID: debian, ubuntu, alpine
    version_id: str = ""
    pretty_name: str = ""

    def ecosystem(self, family: str) -> str:
        """The OSV ecosystem of this system's packages (`family` alone when the release is
        unknown)."""
        if self.id != family.lower() or not self.version_id:
            return family
        if family == "Alpine":
            return "Alpine:v" + ".".join(self.version_id.split(".")[:2])
        return f"{family}:{self.version_id}"


def kind_of(path: str) -> str | None:
    """Which reader a file of the image is for, or None when no reader wants it (this is
    asked of every file of every layer, so it stays cheap)."""
    if path.endswith("METADATA"):
        return "python" if path.endswith(".dist-info/METADATA") else None
    if path.endswith("PKG-INFO"):
        return "python" if path.endswith(".egg-info/PKG-INFO") else None
    if path.endswith(".json"):
        if path.endswith("/package.json") and "node_modules/" in path and _NPM_MANIFEST.search(path):
            return "npm"
        if path.endswith("package-lock.json") and (path == "package-lock.json" or path.endswith("/package-lock.json")):
            return "npm-lock"
        return None
    if path == DPKG_STATUS:
        return "dpkg"
    if path.startswith(DPKG_STATUS_DIR) and not path.endswith(".md5sums"):
        return "dpkg-dir"
    if path == APK_INSTALLED:
        return "apk"
    if path in OS_RELEASE:
        return "os-release"
    return None


def os_release(text: str) -> OperatingSystem:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values[key] = value.strip().strip("\"'")
    return OperatingSystem(id=values.get("ID", "").lower(), version_id=values.get("VERSION_ID", ""),
                           pretty_name=values.get("PRETTY_NAME", ""))


def _paragraphs(text: str):
    """RFC 822-like stanzas separated by blank lines, continuation lines folded."""
    fields: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, last = {}, None
        elif line[0] in " \t":
            if last is not None:
                fields[last] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            last = key.strip()
            fields[last] = value.strip()
    if fields:
        yield fields


def _distro(system: OperatingSystem) -> str | None:
    return f"{system.id}-{system.version_id}" if system.id and system.version_id else None


def dpkg_packages(text: str, path: str, system: OperatingSystem, need_status: bool = True) -> list[Package]:
    """Packages of a dpkg status file; `status.d/` files have no Status field and list what
    is installed."""
    ecosystem = system.ecosystem("Ubuntu" if system.id == "ubuntu" else "Debian")
    found = []
    for fields in _paragraphs(text):
        name, version = fields.get("Package", ""), fields.get("Version", "")
        if not name or not version:
            continue
        if need_status and fields.get("Status", "").split()[-1:] != ["installed"]:
            continue
        source, _, rest = fields.get("Source", name).partition(" ")
        source_version = rest.strip().strip("()") or version
        arch = fields.get("Architecture", "")
        purl = PackageURL("deb", system.id or "debian", name, version,
                          {k: v for k, v in (("arch", arch), ("distro", _distro(system))) if v}).to_string()
        found.append(Package(ecosystem=ecosystem, name=name, version=version, kind="deb", path=path,
                             source_name=source or name, source_version=source_version, arch=arch, purl=purl))
    return found


def apk_packages(text: str, path: str, system: OperatingSystem) -> list[Package]:
    ecosystem = system.ecosystem("Alpine")
    found = []
    for fields in _apk_stanzas(text):
        name, version = fields.get("P", ""), fields.get("V", "")
        if not name or not version:
            continue
        arch = fields.get("A", "")
        purl = PackageURL("apk", "alpine", name, version,
                          {k: v for k, v in (("arch", arch), ("distro", _distro(system))) if v}).to_string()
        found.append(Package(ecosystem=ecosystem, name=name, version=version, kind="apk", path=path,
                             source_name=fields.get("o", name), source_version=version, arch=arch,
                             license=fields.get("L", ""), purl=purl))
    return found


def _apk_stanzas(text: str):
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields = {}
        elif len(line) > 1 and line[1] == ":":
            fields.setdefault(line[0], line[2:].strip())
    if fields:
        yield fields


def python_package(text: str, path: str) -> Package | None:
    headers = HeaderParser().parsestr(text, headersonly=True)
    name, version = (headers.get("Name") or "").strip(), (headers.get("Version") or "").strip()
    if not name or not version:
        return None
    return Package(ecosystem="PyPI", name=name, version=version, kind="python", path=path,
                   license=(headers.get("License-Expression") or "").strip(),
                   purl=PackageURL("pypi", None, re.sub(r"[-_.]+", "-", name).lower(), version).to_string())


def _npm_purl(name: str, version: str) -> str:
    scope, _, bare = name.rpartition("/")
    return PackageURL("npm", scope or None, bare, version).to_string()


def npm_package(text: str, path: str) -> Package | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    license_ = data.get("license") if isinstance(data.get("license"), str) else ""
    return Package(ecosystem="npm", name=name, version=version, kind="npm", path=path, license=license_,
                   purl=_npm_purl(name, version))


def npm_lock_packages(text: str, path: str) -> list[Package]:
    """Dependencies a lock file pins (lockfile v2/v3 `packages`, v1 `dependencies`);
    development-only ones are left out, as an image runs without them."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    pinned: list[tuple[str, str]] = []
    if isinstance(data.get("packages"), dict):
        for key, entry in data["packages"].items():
            if not key or "node_modules/" not in key or not isinstance(entry, dict) or entry.get("dev"):
                continue
            name = entry.get("name") or key.rsplit("node_modules/", 1)[1]
            pinned.append((name, entry.get("version")))
    elif isinstance(data.get("dependencies"), dict):
        stack = [data["dependencies"]]
        while stack:
            for name, entry in stack.pop().items():
                if isinstance(entry, dict) and not entry.get("dev"):
                    pinned.append((name, entry.get("version")))
                    if isinstance(entry.get("dependencies"), dict):
                        stack.append(entry["dependencies"])
    return [Package(ecosystem="npm", name=name, version=version, kind="npm", path=path,
                    purl=_npm_purl(name, version))
            for name, version in pinned
            if isinstance(name, str) and isinstance(version, str) and name and version
            and not version.startswith(("file:", "link:", "git", "http"))]


def inventory(files: dict[str, bytes]) -> tuple[OperatingSystem, list[Package]]:
    """The operating system and the packages the metadata files of an image list (one entry
    per ecosystem, name, version and file; the same package found by an installed
    `package.json` and a lock file counts once)."""
    text = {path: data.decode("utf-8", "replace") for path, data in files.items()}
    system = next((os_release(text[p]) for p in OS_RELEASE if p in text), OperatingSystem())
    found: list[Package] = []
    for path in sorted(text):
        kind = kind_of(path)
        if kind == "dpkg":
            found += dpkg_packages(text[path], path, system)
        elif kind == "dpkg-dir":
            found += dpkg_packages(text[path], path, system, need_status=False)
        elif kind == "apk":
            found += apk_packages(text[path], path, system)
        elif kind == "python":
            found += [p for p in [python_package(text[path], path)] if p]
        elif kind == "npm":
            found += [p for p in [npm_package(text[path], path)] if p]
    installed = {(p.ecosystem, p.name, p.version) for p in found}
    for path in sorted(text):
        if kind_of(path) == "npm-lock":
            for package in npm_lock_packages(text[path], path):
                if (package.ecosystem, package.name, package.version) not in installed:
                    installed.add((package.ecosystem, package.name, package.version))
                    found.append(package)
    return system, found
