"""Layers and images with real package metadata, for the scanner's tests and benchmark.

Members are written with tarfile as image builders write them (whiteouts, opaque
directories, links, devices), compressed with gzip, zstd or not at all; images are pushed to
a registry over its /v2/ API with httpx.
"""

import gzip
import hashlib
import io
import json
import tarfile

import zstandard

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
               "none": "application/vnd.oci.image.layer.v1.tar"}
MTIME = 1_700_000_000


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(members: list[tuple]) -> bytes:
    """A tar of ("file", path, bytes), ("dir", path), ("symlink", path, target),
    ("hardlink", path, target), ("whiteout", path), ("opaque", dir), ("char", path)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, path, *rest in members:
            info = tarfile.TarInfo(path)
            info.mtime, info.mode = MTIME, 0o644
            data = None
            if kind == "file":
                data = rest[0]
                info.size = len(data)
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, rest[0]
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, rest[0]
            elif kind == "whiteout":
                directory, _, base = path.rpartition("/")
                info.name = f"{directory}/.wh.{base}".lstrip("/")
            elif kind == "opaque":
                info.name = f"{path}/.wh..wh..opq"
            elif kind == "char":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 5
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def compress(data: bytes, how: str = "gzip") -> bytes:
    if how == "gzip":
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as handle:
            handle.write(data)
        return out.getvalue()
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def os_release(distro: str = "debian", version: str = "12") -> bytes:
    names = {"debian": "Debian GNU/Linux", "ubuntu": "Ubuntu", "alpine": "Alpine Linux"}
    return (f'PRETTY_NAME="{names.get(distro, distro)} {version}"\nID={distro}\nVERSION_ID="{version}"\n').encode()


def dpkg_status(packages: list[tuple]) -> bytes:
    """(name, version) or (name, version, "source (version)") or with a status word."""
    stanzas = []
    for name, version, *rest in packages:
        source = rest[0] if rest else None
        status = rest[1] if len(rest) > 1 else "install ok installed"
        lines = [f"Package: {name}", f"Status: {status}", "Priority: optional", "Architecture: amd64",
                 f"Version: {version}"]
        if source:
            lines.insert(3, f"Source: {source}")
        lines.append(f"Description: the {name} package\n continued on a second line")
        stanzas.append("\n".join(lines))
    return ("\n\n".join(stanzas) + "\n").encode()


def apk_installed(packages: list[tuple[str, str, str]]) -> bytes:
    return "".join(f"C:Q1abc=\nP:{name}\nV:{version}\nA:x86_64\no:{origin}\nL:MIT\n\n"
                   for name, version, origin in packages).encode()


def dist_info(site: str, name: str, version: str) -> tuple[str, str, bytes]:
    path = f"{site}/{name.replace('-', '_')}-{version}.dist-info/METADATA"
    return ("file", path, f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nLong text.\n".encode())


def package_json(root: str, name: str, version: str) -> tuple[str, str, bytes]:
    return ("file", f"{root}/node_modules/{name}/package.json",
            json.dumps({"name": name, "version": version, "license": "MIT"}).encode())


DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def push_image(base_url: str, repository: str, tag: str, layers: list[bytes], headers: dict,
               compression: str = "gzip", docker: bool = False) -> str:
    """Push compressed layers, a config and a manifest (OCI, or Docker's v2 schema 2); the
    manifest's digest."""
    import httpx

    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        def blob(data: bytes) -> str:
            digest = sha256(data)
            answer = client.post(f"/v2/{repository}/blobs/uploads/", params={"digest": digest}, content=data)
            if answer.status_code == 202:  # a registry without monolithic POST
                answer = client.put(answer.headers["location"], params={"digest": digest}, content=data)
            assert answer.status_code == 201, answer.text
            return digest

        diff_ids = [sha256(_decompressed(layer)) for layer in layers]
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        kind = DOCKER_MANIFEST if docker else OCI_MANIFEST
        manifest = {"schemaVersion": 2, "mediaType": kind,
                    "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, "digest": blob(config),
                               "size": len(config)},
                    "layers": [{"mediaType": DOCKER_LAYER if docker else LAYER_TYPES[compression],
                                "digest": blob(layer), "size": len(layer)} for layer in layers]}
        body = json.dumps(manifest).encode()
        answer = client.put(f"/v2/{repository}/manifests/{tag}", content=body, headers={"content-type": kind})
        assert answer.status_code == 201, answer.text
        return sha256(body)


def _decompressed(layer: bytes) -> bytes:
    if layer[:2] == b"\x1f\x8b":
        return gzip.decompress(layer)
    if layer[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().decompress(layer, max_output_size=1 << 30)
    return layer


def push_index(base_url: str, repository: str, tag: str, children: dict[str, str], headers: dict) -> str:
    """Push an OCI index over already pushed manifests ({"os/arch": digest}); its digest."""
    import httpx

    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        manifests = []
        for platform, digest in children.items():
            size = len(client.get(f"/v2/{repository}/manifests/{digest}", headers={"accept": OCI_MANIFEST}).content)
            os_name, arch = platform.split("/")
            manifests.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                              "platform": {"os": os_name, "architecture": arch}})
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()
        answer = client.put(f"/v2/{repository}/manifests/{tag}", content=body, headers={"content-type": OCI_INDEX})
        assert answer.status_code == 201, answer.text
        return sha256(body)


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def bomb(size: int) -> bytes:
    """A gzip layer of a few hundred KB that expands to `size` bytes of zeros."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w|") as tar:
            info = tarfile.TarInfo("usr/share/zeros")
            info.size = size
            tar.addfile(info, _Zeros(size))
    return out.getvalue()
