"""The `type` Harbor gives an artifact (IMAGE, IMAGE_INDEX, CHART, ...), from its manifest's
media type and its artifact type (the `artifactType`, else the config's media type)."""

from domain.artifacts.manifest_format import HELM_CONFIG, INDEX_TYPES

KNOWN = {
    HELM_CONFIG: "CHART",
    "application/vnd.cnab.manifest.v1": "CNAB",
    "application/vnd.wasm.config.v1+json": "WASM",
    "application/vnd.sylabs.sif.config.v1+json": "SIF",
}


def artifact_kind(media_type: str, artifact_type: str | None) -> str:
    if media_type in INDEX_TYPES:
        return "IMAGE_INDEX"
    if artifact_type in KNOWN:
        return KNOWN[artifact_type]
    if artifact_type and "image" not in artifact_type:
        return artifact_type.rsplit(".", 1)[-1].upper()[:32]
    return "IMAGE"
