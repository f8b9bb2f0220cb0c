"""Helm charts made in a test, packaged as `helm package` does: a gzip'd tar of one
`<name>/` directory, and the OCI config Helm pushes (Chart.yaml's fields as JSON)."""

import gzip
import io
import json
import tarfile
from dataclasses import dataclass

import yaml

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CONTENT = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
HELM_MANIFEST = "application/vnd.oci.image.manifest.v1+json"

VALUES = "replicaCount: 2\nimage:\n  repository: nginx\n  tag: \"1.27\"\n"
README = "# web\n\nA small chart made by a test.\n"
DEPENDENCIES = [{"name": "redis", "version": "19.0.1",
                 "repository": "oci://registry.example/charts", "condition": "redis.enabled"}]


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    archive: bytes  # the .tgz
    config: bytes  # Chart.yaml as JSON


def tar_gz(files: dict[str, bytes | tarfile.TarInfo]) -> bytes:
    """A gzip'd tar of `files` (a TarInfo value is written as that header, without data)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path, data in files.items():
                if isinstance(data, tarfile.TarInfo):
                    tar.addfile(data)
                    continue
                info = tarfile.TarInfo(path)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_chart(name: str = "web", version: str = "0.1.0", values: str | None = VALUES,
               readme: str | None = README, dependencies: list | None = None,
               extra: dict[str, bytes] | None = None) -> Chart:
    """A chart with Chart.yaml, values.yaml, README.md, templates/ and `dependencies`
    (a dependency's own chart sits in charts/, as `helm dependency build` leaves it)."""
    dependencies = DEPENDENCIES if dependencies is None else dependencies
    metadata = {"apiVersion": "v2", "name": name, "version": version, "appVersion": "1.27.0",
                "description": "A chart made by a test", "type": "application"}
    if dependencies:
        metadata["dependencies"] = dependencies
    files = {f"{name}/Chart.yaml": yaml.safe_dump(metadata, sort_keys=False).encode(),
             f"{name}/templates/deployment.yaml": b"apiVersion: apps/v1\nkind: Deployment\n",
             f"{name}/templates/NOTES.txt": b"Thanks for installing.\n"}
    if values is not None:
        files[f"{name}/values.yaml"] = values.encode()
    if readme is not None:
        files[f"{name}/README.md"] = readme.encode()
    for dependency in dependencies:
        sub = dependency["name"]
        files[f"{name}/charts/{sub}/Chart.yaml"] = yaml.safe_dump(
            {"apiVersion": "v2", "name": sub, "version": dependency["version"]}).encode()
        files[f"{name}/charts/{sub}/values.yaml"] = b"architecture: standalone\n"
    files.update(extra or {})
    return Chart(name, version, tar_gz(files), json.dumps(metadata).encode())
