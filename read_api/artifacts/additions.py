"""Harbor's artifact additions: an image's `build_history` (from its config), a Helm
chart's `values.yaml`, `readme.md` and `dependencies` (from its content layer, read by
read_api/artifacts/chart_archive.py within Helm's size limits), and an SBOM accessory's
`sbom` (its document; asked of an image, the document of its newest SBOM accessory).

As Harbor: the addition name is case-insensitive; a name Harbor knows that this artifact's
type has not (an index's build history, a chart's `sbom`) is a 400; values and readme are
text, dependencies and build history JSON. Beyond Harbor: an addition the chart does not
have (no README.md) is a 404 rather than an empty 200, and a name Harbor does not know is a
404 too."""

import json

import anyio.to_thread
import msgspec
from litestar import Request, Response, get
from litestar.response import Stream
from litestar.params import Parameter

from domain.artifacts.manifest_format import HELM_CONFIG, IMAGE_TYPES, MAX_MANIFEST_BYTES, Descriptor
from domain.errors import BadRequest, NotFound, Unprocessable
from domain.scanning.reports import SBOM_ARTIFACT_TYPE
from infra.http.lookups import blob_size
from infra.http.resources import find_artifact, full_repository_name, project_for
from read_api.artifacts.chart_archive import read_chart

HELM_CONTENT = ("application/vnd.cncf.helm.chart.content.v1.tar+gzip", "application/tar+gzip")
IMAGE_CONFIGS = ("application/vnd.oci.image.config.v1+json",
                 "application/vnd.docker.container.image.v1+json")
HARBOR_ADDITIONS = ("build_history", "values.yaml", "readme.md", "dependencies", "sbom", "license",
                    "files")
MAX_CONFIG_BYTES = MAX_MANIFEST_BYTES
HISTORY_KEYS = ("created", "created_by", "author", "comment", "empty_layer")
TEXT = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"


class _Manifest(msgspec.Struct):
    config: Descriptor | None = None
    layers: list[Descriptor] = []
    artifactType: str | None = None


class _Config(msgspec.Struct):
    history: list[dict] | None = None


def _read_small(registry, digest: str, size: int | None, what: str) -> bytes:
    """A manifest or config blob (`size` None: not in the repository)."""
    if size is None:
        raise NotFound(f"the artifact's {what} is not in the registry", {"digest": digest})
    if size > MAX_CONFIG_BYTES:
        raise Unprocessable(f"the artifact's {what} is larger than 4 MiB")
    return registry.blobs.read(digest)


def _build_history(config: bytes) -> list[dict]:
    """The image config's `history`, each entry with Harbor's (the OCI spec's) fields."""
    try:
        history = msgspec.json.decode(config, type=_Config).history or []
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Unprocessable("the image config is not valid JSON")
    return [{key: entry[key] for key in HISTORY_KEYS if entry.get(key) not in (None, "", False)}
            for entry in history]


def _unsupported(addition: str, kind: str) -> BadRequest:
    return BadRequest(f"addition {addition} isn't supported for {kind}", {"addition": addition})


async def _image_addition(registry, name: str, manifest: _Manifest, addition: str) -> Response:
    if addition != "build_history":
        raise _unsupported(addition, "IMAGE")
    digest = manifest.config.digest
    size = await blob_size(registry, name, digest)
    config = await anyio.to_thread.run_sync(_read_small, registry, digest, size, "config")
    return Response(json.dumps(_build_history(config)).encode(), media_type=JSON)


async def _chart_addition(registry, name: str, manifest: _Manifest, addition: str) -> Response:
    if addition not in ("values.yaml", "readme.md", "dependencies"):
        raise _unsupported(addition, "CHART")
    layer = next((d for d in manifest.layers if d.mediaType in HELM_CONTENT), None)
    if layer is None:
        raise NotFound("the chart has no content layer")
    size = await blob_size(registry, name, layer.digest)
    if size is None:
        raise NotFound("the chart's content is not in the registry", {"digest": layer.digest})
    chunks = registry.blobs.iter_range(layer.digest, 0, size - 1) if size else iter(())
    files = await anyio.to_thread.run_sync(read_chart, chunks)
    if addition == "dependencies":
        return Response(json.dumps(files.dependencies).encode(), media_type=JSON)
    text = files.values if addition == "values.yaml" else files.readme
    if text is None:
        raise NotFound(f"the chart has no {'values.yaml' if addition == 'values.yaml' else 'README.md'}")
    return Response(text.encode(), media_type=TEXT)


def _manifest(registry, digest: str) -> _Manifest:
    body = _read_small(registry, digest, 0, "manifest")
    try:
        return msgspec.json.decode(body, type=_Manifest)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Unprocessable("the manifest is not valid JSON")


def _newest_sbom(registry, name: str, subject_digest: str) -> str:
    """The SBOM accessory of an image: the one its newest SBOM run stored, else the last of
    the SBOM accessories pushed for it."""
    found = [row.digest for row in registry.queries.referrers(name, subject_digest)
             if row.artifact_type == SBOM_ARTIFACT_TYPE]
    generated = registry.scan_runs.sbom_digest(name, subject_digest, registry.commands.generation(name))
    if generated in found:
        return generated
    if not found:
        raise NotFound("the artifact has no SBOM", {"digest": subject_digest})
    return found[-1]


async def _sbom_addition(registry, name: str, manifest: _Manifest, digest: str) -> Response:
    if manifest.artifactType != SBOM_ARTIFACT_TYPE:
        digest = await anyio.to_thread.run_sync(_newest_sbom, registry, name, digest)
        manifest = await anyio.to_thread.run_sync(_manifest, registry, digest)
    if len(manifest.layers) != 1:
        raise Unprocessable("an SBOM artifact holds exactly one layer, the document")
    layer = manifest.layers[0]
    size = await blob_size(registry, name, layer.digest)
    if size is None:
        raise NotFound("the SBOM document is not in the registry", {"digest": layer.digest})
    chunks = registry.blobs.iter_range(layer.digest, 0, size - 1) if size else iter(())
    return Stream(chunks, media_type=JSON, headers={"docker-content-digest": digest})


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}"
     "/additions/{addition:str}")
async def get_addition(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                       reference: str = Parameter(), addition: str = Parameter()) -> Response:
    """An addition of the artifact: `build_history` and `sbom` for images; `sbom` for SBOM
    accessories; `values.yaml`, `readme.md` and `dependencies` for Helm charts."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    addition = addition.lower()
    if addition not in HARBOR_ADDITIONS:
        raise NotFound("no such addition", {"addition": addition[:64],
                                            "known": list(HARBOR_ADDITIONS)})
    row = await find_artifact(who.registry, name, reference, None)
    if row.media_type not in IMAGE_TYPES:
        raise _unsupported(addition, "IMAGE_INDEX")
    manifest = await anyio.to_thread.run_sync(_manifest, who.registry, row.digest)
    config_type = manifest.config.mediaType if manifest.config else None
    if addition == "sbom" and (manifest.artifactType == SBOM_ARTIFACT_TYPE
                               or config_type in IMAGE_CONFIGS and not manifest.artifactType):
        return await _sbom_addition(who.registry, name, manifest, row.digest)
    if HELM_CONFIG in (manifest.artifactType, config_type):
        return await _chart_addition(who.registry, name, manifest, addition)
    if config_type in IMAGE_CONFIGS and not manifest.artifactType:
        return await _image_addition(who.registry, name, manifest, addition)
    raise _unsupported(addition, "this artifact type")
