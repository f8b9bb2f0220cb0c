"""Build small, deterministic OCI image layouts with the standard library only.

The layouts follow the OCI image-layout spec (``oci-layout``, ``index.json``,
``blobs/sha256/<hex>``) and can be fed to ``skopeo copy oci:DIR:TAG ...``.

    python -m tests.e2e.oci_images OUTDIR [--seed N] [--tag TAG]

writes ``OUTDIR/multilayer`` and ``OUTDIR/multiplatform`` and prints their
digests as JSON.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import sys
import tarfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"

DEFAULT_LAYER_SIZES = (48 * 1024, 96 * 1024, 16 * 1024)
DEFAULT_PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))
FILES_PER_LAYER = 3
FIXED_MTIME = 1_700_000_000  # deterministic tar headers


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class BuiltImage:
    """One single-platform image inside an OCI layout."""

    layout_dir: Path
    tag: str | None
    manifest_digest: str
    manifest_size: int
    config_digest: str
    layer_digests: list[str]
    diff_ids: list[str]
    layer_sizes: list[int]
    os: str
    architecture: str

    @property
    def platform(self) -> str:
        return f"{self.os}/{self.architecture}"


@dataclass(frozen=True)
class BuiltIndex:
    """A multi-platform image index inside an OCI layout."""

    layout_dir: Path
    tag: str
    index_digest: str
    images: dict[str, BuiltImage] = field(default_factory=dict)  # "os/arch" -> image


class _Layout:
    """Writes content-addressed blobs into an OCI image layout directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        (self.root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def put(self, data: bytes, media_type: str) -> dict:
        digest = sha256_digest(data)
        (self.blobs / digest.split(":", 1)[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def write_index(self, tagged: Sequence[tuple[dict, str]]) -> None:
        manifests = [{**desc, "annotations": {REF_NAME: tag}} for desc, tag in tagged]
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        (self.root / "index.json").write_bytes(canonical_json(index))


def _layer_tar(rng: random.Random, layer_no: int, payload_size: int) -> bytes:
    """An uncompressed tar with FILES_PER_LAYER files totalling ~payload_size bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo(f"layer{layer_no}")
        directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
        tar.addfile(directory)
        share, rest = divmod(payload_size, FILES_PER_LAYER)
        for file_no in range(FILES_PER_LAYER):
            data = rng.randbytes(share + (rest if file_no == 0 else 0))
            info = tarfile.TarInfo(f"layer{layer_no}/file{file_no}.bin")
            info.size, info.mode, info.mtime = len(data), 0o644, FIXED_MTIME
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def _add_image(layout: _Layout, rng: random.Random, os_name: str, arch: str,
               layer_sizes: Sequence[int]) -> tuple[dict, BuiltImage]:
    layers, diff_ids = [], []
    for layer_no, size in enumerate(layer_sizes):
        tar = _layer_tar(rng, layer_no, size)
        diff_ids.append(sha256_digest(tar))
        layers.append(layout.put(_gzip(tar), OCI_LAYER_GZIP))
    config = {
        "architecture": arch,
        "os": os_name,
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"tidemark e2e layer {i}"}
                    for i in range(len(layers))],
    }
    config_desc = layout.put(canonical_json(config), OCI_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": config_desc, "layers": layers}
    manifest_desc = layout.put(canonical_json(manifest), OCI_MANIFEST)
    image = BuiltImage(
        layout_dir=layout.root, tag=None,
        manifest_digest=manifest_desc["digest"], manifest_size=manifest_desc["size"],
        config_digest=config_desc["digest"],
        layer_digests=[layer["digest"] for layer in layers], diff_ids=diff_ids,
        layer_sizes=[layer["size"] for layer in layers], os=os_name, architecture=arch,
    )
    return manifest_desc, image


def build_image(outdir: Path | str, *, tag: str = "v1", seed: int = 0,
                layer_sizes: Sequence[int] = DEFAULT_LAYER_SIZES,
                os_name: str = "linux", architecture: str = "amd64") -> BuiltImage:
    """Write a single-platform image with one gzip layer per entry of layer_sizes."""
    layout = _Layout(Path(outdir))
    rng = random.Random(f"image:{seed}:{os_name}/{architecture}")
    manifest_desc, image = _add_image(layout, rng, os_name, architecture, layer_sizes)
    layout.write_index([(manifest_desc, tag)])
    return replace(image, tag=tag)


def build_multiplatform_index(outdir: Path | str, *, tag: str = "v1", seed: int = 0,
                              layer_sizes: Sequence[int] = DEFAULT_LAYER_SIZES,
                              platforms: Sequence[tuple[str, str]] = DEFAULT_PLATFORMS,
                              ) -> BuiltIndex:
    """Write an OCI image index with one distinct image per (os, arch) platform."""
    layout = _Layout(Path(outdir))
    descriptors, images = [], {}
    for os_name, arch in platforms:
        rng = random.Random(f"index:{seed}:{os_name}/{arch}")
        manifest_desc, image = _add_image(layout, rng, os_name, arch, layer_sizes)
        descriptors.append({**manifest_desc, "platform": {"architecture": arch, "os": os_name}})
        images[image.platform] = image
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
    index_desc = layout.put(canonical_json(index), OCI_INDEX)
    layout.write_index([(index_desc, tag)])
    return BuiltIndex(layout_dir=layout.root, tag=tag, index_digest=index_desc["digest"],
                      images=images)


# --- reading layouts back (e.g. after `skopeo copy docker://... oci:DIR:TAG`) ---

def read_blob(layout_dir: Path | str, digest: str) -> bytes:
    algorithm, hexdigest = digest.split(":", 1)
    data = (Path(layout_dir) / "blobs" / algorithm / hexdigest).read_bytes()
    if sha256_digest(data) != digest:
        raise ValueError(f"blob {digest} in {layout_dir} does not match its digest")
    return data


def resolve_tag(layout_dir: Path | str, tag: str) -> dict:
    """The descriptor that index.json of a layout names with the given tag."""
    index = json.loads((Path(layout_dir) / "index.json").read_text())
    for desc in index.get("manifests", []):
        if desc.get("annotations", {}).get(REF_NAME) == tag:
            return desc
    raise KeyError(f"tag {tag!r} not in {layout_dir}/index.json")


def read_json_blob(layout_dir: Path | str, digest: str) -> dict:
    return json.loads(read_blob(layout_dir, digest))


def _summary(obj: BuiltImage | BuiltIndex) -> dict:
    return json.loads(json.dumps(asdict(obj), default=str))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="v1")
    parser.add_argument("--layer-sizes", default=",".join(map(str, DEFAULT_LAYER_SIZES)),
                        help="comma-separated uncompressed payload bytes per layer")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.layer_sizes.split(",")]
    image = build_image(args.outdir / "multilayer", tag=args.tag, seed=args.seed,
                        layer_sizes=sizes)
    index = build_multiplatform_index(args.outdir / "multiplatform", tag=args.tag,
                                      seed=args.seed, layer_sizes=sizes)
    json.dump({"multilayer": _summary(image), "multiplatform": _summary(index)},
              sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
