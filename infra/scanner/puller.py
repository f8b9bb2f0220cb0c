"""Pulling one image through a registry's `/v2/` API, with the credential the scan came with.

The manifest must hash to the digest asked for; an index gives its linux/amd64 image (or
its first); each layer streams to the scan's scratch directory while it is hashed and
counted, and must hash to its descriptor's digest. A Basic credential the registry answers
with a Bearer challenge is exchanged at the challenge's realm for a pull token, as Docker
clients and Harbor's scanners do. Every failure is a PullFailed that says what went wrong.
"""

import hashlib
import re
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import msgspec

from domain.scanning.reports import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from infra.scanner.layers import Cancelled

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
IMAGE_CONFIGS = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
ACCEPT = ", ".join((OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST))
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class PullFailed(Exception):
    """The image could not be pulled (the message is the reason a user is shown)."""


class Image(msgspec.Struct):
    digest: str  # the image manifest's (the child's, for an index)
    media_type: str
    layers: list[tuple[str, Path]]  # (digest, downloaded file), lowest first
    platform: str
    manifest: bytes = b""  # as the registry sent it
    config: tuple[str, Path] | None = None  # (digest, downloaded file)


def _challenge(header: str) -> dict[str, str]:
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "bearer":
        return {}
    return {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', params)}


class Puller:
    def __init__(self, registry_url: str, authorization: str, repository: str, timeout: float, verify: bool,
                 max_download_bytes: int, cancelled: Callable[[], bool] = lambda: False) -> None:
        self.base = registry_url.rstrip("/")
        parts = urlsplit(self.base)  # what messages show: no user or password from the URL
        self.shown = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
        self.repository = repository
        self.authorization = authorization
        self.max_download_bytes, self.downloaded = max_download_bytes, 0
        self.cancelled = cancelled
        self.client = httpx.Client(timeout=timeout, verify=verify, follow_redirects=True,
                                   headers={"User-Agent": "tidemark-scanner"})

    def close(self) -> None:
        self.client.close()

    def _url(self, kind: str, reference: str) -> str:
        return f"{self.base}/v2/{quote(self.repository, safe='/')}/{kind}/{reference}"

    def _token(self, challenge: dict[str, str]) -> str:
        realm = challenge.get("realm")
        if not realm:
            raise PullFailed("the registry asked for a token but named no realm")
        params = {"scope": challenge.get("scope") or f"repository:{self.repository}:pull"}
        if challenge.get("service"):
            params["service"] = challenge["service"]
        headers = {"Authorization": self.authorization} if self.authorization.lower().startswith("basic ") else {}
        try:
            answer = self.client.get(realm, params=params, headers=headers)
        except httpx.HTTPError as error:
            raise PullFailed(f"cannot reach the registry's token service {realm}: {error}") from None
        if answer.status_code != 200:
            raise PullFailed(f"the registry's token service refused the credential ({answer.status_code})")
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        token = body.get("token") or body.get("access_token")
        if not token:
            raise PullFailed("the registry's token service answered without a token")
        return f"Bearer {token}"

    def _get(self, url: str, accept: str | None = None) -> httpx.Response:
        """A streamed GET (the caller closes it), with one token exchange on a challenge."""
        for attempt in (1, 2):
            headers = {"Accept": accept} if accept else {}
            if self.authorization:
                headers["Authorization"] = self.authorization
            try:
                response = self.client.send(self.client.build_request("GET", url, headers=headers), stream=True)
            except httpx.HTTPError as error:
                raise PullFailed(f"cannot reach the registry at {self.shown}: {error or type(error).__name__}") from None
            if response.status_code == 401 and attempt == 1:
                challenge = _challenge(response.headers.get("www-authenticate", ""))
                response.close()
                if challenge:
                    self.authorization = self._token(challenge)
                    continue
                raise PullFailed("the registry refused the credential (401)")
            if response.status_code != 200:
                response.close()
                what = {401: "refused the credential", 403: "denied pulling", 404: "has no such object"}
                raise PullFailed(f"the registry {what.get(response.status_code, 'answered')} "
                                 f"({response.status_code}) for {url.removeprefix(self.base)}")
            return response
        raise PullFailed("the registry refused the token it issued (401)")

    def manifest(self, digest: str) -> tuple[str, dict, bytes]:
        response = self._get(self._url("manifests", digest), ACCEPT)
        try:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_MANIFEST_BYTES:
                    raise PullFailed(f"the manifest {digest} is larger than {MAX_MANIFEST_BYTES} bytes")
        except httpx.HTTPError as error:
            raise PullFailed(f"the registry broke off sending the manifest: {error}") from None
        finally:
            response.close()
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        if actual != digest:
            raise PullFailed(f"the registry answered a manifest whose digest is {actual}, not the {digest} asked for")
        try:
            document = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise PullFailed(f"the manifest {digest} is not JSON") from None
        if not isinstance(document, dict):
            raise PullFailed(f"the manifest {digest} is not a JSON object")
        media_type = document.get("mediaType") or response.headers.get("content-type", "").split(";")[0]
        return media_type, document, body

    def _child(self, index: dict) -> tuple[str, str]:
        candidates = [m for m in index.get("manifests") or [] if isinstance(m, dict)
                      and m.get("mediaType") in (OCI_MANIFEST, DOCKER_MANIFEST)
                      and (m.get("platform") or {}).get("os") != "unknown"]
        if not candidates:
            raise PullFailed("the index holds no image manifest")
        amd64 = [m for m in candidates if (m.get("platform") or {}).get("os") == "linux"
                 and (m.get("platform") or {}).get("architecture") == "amd64"]
        chosen = (amd64 or candidates)[0]
        platform = chosen.get("platform") or {}
        return chosen.get("digest", ""), f"{platform.get('os', '?')}/{platform.get('architecture', '?')}"

    def pull(self, digest: str, scratch: Path) -> Image:
        media_type, document, body = self.manifest(digest)
        platform = ""
        if media_type in (OCI_INDEX, DOCKER_LIST) or "manifests" in document:
            child, platform = self._child(document)
            if not DIGEST.match(child):
                raise PullFailed(f"the index names a manifest by {child[:80]!r}, not a sha256 digest")
            digest = child
            media_type, document, body = self.manifest(child)
        if media_type not in (OCI_MANIFEST, DOCKER_MANIFEST) and "layers" not in document:
            raise PullFailed(f"{media_type or 'the manifest'} is not an image manifest")
        config = document.get("config") or {}
        if config.get("mediaType", "") not in IMAGE_CONFIGS:
            raise PullFailed(f"not a container image: its config is {config.get('mediaType') or 'missing'}")
        if not DIGEST.match(str(config.get("digest", ""))):
            raise PullFailed("the image's config is not named by a sha256 digest")
        layers = []
        for layer in document.get("layers") or []:
            layer_digest = layer.get("digest", "") if isinstance(layer, dict) else ""
            if not DIGEST.match(layer_digest):
                raise PullFailed(f"a layer is named by {layer_digest[:80]!r}, not a sha256 digest")
            layers.append((layer_digest, self.blob(layer_digest, int(layer.get("size") or 0), scratch)))
        config_file = self.blob(config["digest"], int(config.get("size") or 0), scratch)
        return Image(digest=digest, media_type=media_type, layers=layers, platform=platform, manifest=body,
                     config=(config["digest"], config_file))

    def blob(self, digest: str, size: int, scratch: Path) -> Path:
        target = scratch / digest.replace(":", "-")
        if target.exists():  # the same layer twice in one image
            return target
        response = self._get(self._url("blobs", digest))
        hasher = hashlib.sha256()
        received = 0
        try:
            with open(target, "wb") as out:
                for chunk in response.iter_bytes(1024 * 1024):
                    if self.cancelled():
                        raise Cancelled("the scan was stopped")
                    received += len(chunk)
                    self.downloaded += len(chunk)
                    if self.downloaded > self.max_download_bytes:
                        raise PullFailed(f"the image's layers pass {self.max_download_bytes} bytes "
                                         "(TIDEMARK_SCANNER_MAX_DOWNLOAD_BYTES)")
                    if size and received > size:
                        raise PullFailed(f"the registry sent more than the {size} bytes of layer {digest}")
                    hasher.update(chunk)
                    out.write(chunk)
        except httpx.HTTPError as error:
            raise PullFailed(f"the registry broke off sending layer {digest}: {error}") from None
        finally:
            response.close()
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise PullFailed(f"the registry answered layer {digest} with bytes whose digest is {actual}")
        return target
