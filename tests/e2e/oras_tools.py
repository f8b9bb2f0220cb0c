"""PyPI's `oras` client library (oras-py) against the registry under test, through the
Docker token flow.

oras-py keeps the first token it gets and sends it again when a later request is refused,
asking for a new one only after a 403 that carries a challenge (oras-py issue #187): a push
whose first request is a blob HEAD therefore holds a pull-only token when it starts the
upload, against any registry whose tokens carry only the scope asked for. `client()` asks
oras-py's own token code for the pull and push scope first, as a user of oras-py does today."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

import httpx
import oras.client
import oras.defaults
import oras.oci
from oras.auth.utils import parse_auth_header

EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


def client(registry, user: str | None, secret: str | None, push_to: str | None = None) -> oras.client.OrasClient:
    """An oras-py client signed in as `user` (anonymous when None); with `push_to`, holding
    a token for pull and push on that repository, fetched through the challenge's realm."""
    oras_client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    if user is not None:
        oras_client.auth.set_basic_auth(user, secret)
    if push_to is not None:
        challenge = parse_auth_header(httpx.get(f"http://{registry.host}/v2/", timeout=30)
                                      .headers["www-authenticate"])
        challenge.scope = f"repository:{push_to}:pull,push"
        token = oras_client.auth.request_token(challenge)
        assert token, "the token service refused the pull and push scope"
        oras_client.auth.set_token_auth(token)
    return oras_client


def push_artifact(oras_client, target: str, folder: Path, artifact_type: str, files: dict[str, tuple[str, bytes]],
                  subject: oras.oci.Subject | None = None) -> tuple[str, dict]:
    """An OCI 1.1 artifact through oras-py's blob and manifest uploads: `artifactType` set,
    the empty config, one layer per file (name -> (media type, bytes)), an optional subject.
    Returns the manifest digest and the manifest."""
    container = oras_client.get_container(target)
    manifest = oras.oci.NewManifest()
    folder.mkdir(parents=True, exist_ok=True)
    for name, (media_type, data) in files.items():
        path = folder / name
        path.write_bytes(data)
        layer = oras.oci.NewLayer(str(path), media_type=media_type)
        layer["annotations"] = {oras.defaults.annotation_title: name}
        oras_client._check_200_response(oras_client.upload_blob(str(path), container, layer))
        manifest["layers"].append(layer)
    empty = folder / "empty-config.json"
    empty.write_bytes(b"{}")
    config = {"mediaType": EMPTY_CONFIG, "digest": oras.defaults.blank_config_hash, "size": 2}
    oras_client._check_200_response(oras_client.upload_blob(str(empty), container, config))
    manifest["config"] = config
    manifest["artifactType"] = artifact_type
    if subject is not None:
        manifest["subject"] = asdict(subject)
    response = oras_client.upload_manifest(manifest, container)
    assert response.status_code == 201, response.text
    return response.headers["docker-content-digest"], manifest


def referrers(oras_client, registry, repository: str, digest: str, artifact_type: str | None = None):
    """`GET /v2/<name>/referrers/<digest>` through oras-py's request path (token flow)."""
    query = f"?artifactType={quote(artifact_type, safe='')}" if artifact_type else ""  # `+` is %2B
    return oras_client.do_request(f"http://{registry.host}/v2/{repository}/referrers/{digest}{query}", "GET")
