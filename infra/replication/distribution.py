"""A synchronous client for the OCI Distribution API, as the replication worker needs it.

One `httpx.Client` per registry, connections reused (`transport`); authentication as `auth`
describes; every failure raised as one of `errors` (RETRYABLE says which deserve another try).
Blob bytes stream both ways in pieces of at most 1 MiB, under the client's KB/s throttle;
`blob_upload` says how a push survives a broken connection.
"""

import hashlib
import json
import re
import time
from typing import Callable, Iterable, Iterator

import httpx
import structlog

from infra.replication.blob_upload import PIECE, THROTTLED_PIECE, BlobUpload
from infra.replication.errors import (
    RETRYABLE, DigestMismatch, NotFound, Refused, Unreachable, oci_codes,
)
from infra.replication.transport import Transport

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT_MANIFESTS = ", ".join(MANIFEST_TYPES)
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
CATALOG_SCOPE = "registry:catalog:*"
CATALOG_PAGE = 1000  # Distribution refuses pages larger than its catalog.maxentries (1000)
MAX_PAGES = 100_000

_NAME_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_NAME_PART}(?:/{_NAME_PART})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")

log = structlog.get_logger("replication")


def _repository(name: str) -> str:
    if len(name) > 255 or not _NAME.fullmatch(name):
        raise Refused(f"invalid repository name {name[:100]!r}")
    return name


def _digest(value: str) -> str:
    if not _DIGEST.fullmatch(value) or _hash_of(value) is None:
        raise Refused(f"invalid or unsupported digest {value[:100]!r}")
    return value


def _reference(value: str) -> str:
    if _TAG.fullmatch(value):
        return value
    return _digest(value)


def _hash_of(digest: str):
    """A fresh hash object for the algorithm `digest` names, or None if unknown here."""
    try:
        return hashlib.new(digest.split(":", 1)[0])
    except ValueError:
        return None


def _digest_of(body: bytes, reference: str) -> str:
    """The digest of `body`, in the algorithm of `reference` when it is a digest."""
    algorithm = reference.split(":", 1)[0] if _DIGEST.fullmatch(reference) else "sha256"
    return f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"


def _pull(repository: str) -> tuple[str, ...]:
    return (f"repository:{repository}:pull",)


def _push(repository: str) -> tuple[str, ...]:
    return (f"repository:{repository}:pull,push",)


class BlobStream:
    """A blob's bytes as they arrive: an iterator of chunks; `.size` is the blob's total size.
    Read from the start, they are checked against the digest at the end (DigestMismatch).
    Close it (or use `with`) when stopping early."""

    def __init__(self, transport: Transport, response: httpx.Response | None, digest: str,
                 size: int, offset: int, skip: int) -> None:
        self.size = size
        self.offset = offset
        self._transport = transport
        self._response = response
        self._digest = digest
        self._skip = skip  # bytes before `offset` that a server ignoring Range sent anyway
        self._hash = _hash_of(digest) if offset == 0 or skip else None
        self._chunks = self._read()

    def __iter__(self) -> "BlobStream":
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def __enter__(self) -> "BlobStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._chunks.close()
        if self._response is not None:
            self._response.close()

    def _read(self) -> Iterator[bytes]:
        transport, received, skip = self._transport, 0, self._skip
        piece = THROTTLED_PIECE if transport.throttle.rate else PIECE
        arriving = self._response.iter_raw(piece) if self._response is not None else ()
        try:
            for chunk in arriving:  # raw: a Content-Encoding is no excuse to change the bytes
                if self._hash is not None:
                    self._hash.update(chunk)
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                    if not chunk:
                        continue
                transport.throttle.consume(len(chunk))
                received += len(chunk)
                yield chunk
        except httpx.TransportError as error:
            raise transport.transport_error(error, f"GET blob {self._digest}") from error
        finally:
            if self._response is not None:
                self._response.close()
        if received != self.size - self.offset:
            raise Unreachable(f"registry {transport.name} ended blob {self._digest} after "
                              f"{received} of {self.size - self.offset} bytes")
        if self._hash is not None and self._hash.hexdigest() != self._digest.split(":", 1)[1]:
            raise DigestMismatch(f"blob {self._digest} from registry {transport.name} does not "
                                 f"hash to its digest")


class RegistryClient:
    """The OCI Distribution API of one registry at `url` ("https://host[:port][/prefix]").

    `insecure` skips TLS verification; `ca_certificate` (PEM) is trusted besides the system
    store; `speed_kb` > 0 limits blob bytes per second both ways (1 KB = 1024 bytes). `clock`
    and `sleep` serve the throttle and the retry waits (tests pass fakes)."""

    def __init__(self, url: str, *, username: str = "", password: str = "", insecure: bool = False,
                 timeout: float = 30.0, speed_kb: int = 0, ca_certificate: str = "",
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._transport = Transport(url, username=username, password=password, insecure=insecure,
                                    timeout=timeout, speed_kb=speed_kb,
                                    ca_certificate=ca_certificate, clock=clock, sleep=sleep)
        self.url = self._transport.url
        self.name = self._transport.name

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- registry and repositories ----------------------------------------------

    def ping(self) -> None:
        """GET /v2/ with authentication: returns when the registry answers and accepts us."""
        wire = self._transport
        wire.expect(wire.exchange("GET", wire.v2(""), "ping"), "ping", 200)

    def catalog(self, limit: int = 10000) -> list[str]:
        """Up to `limit` repository names, following the Link pagination."""
        wire = self._transport
        names: list[str] = []
        url: str | None = wire.v2(f"_catalog?n={min(max(limit, 1), CATALOG_PAGE)}")
        for _ in range(MAX_PAGES):
            if url is None or len(names) >= limit:
                break
            response = wire.expect(wire.exchange("GET", url, "catalog", scopes=(CATALOG_SCOPE,)),
                                   "catalog", 200)
            names += wire.json(response, "catalog").get("repositories") or []
            url = wire.next_page(response)
        return names[:limit]

    def tags(self, repository: str) -> list[str]:
        """Every tag of `repository`, following Link pagination; [] when it is unknown."""
        wire, what = self._transport, f"tags of {_repository(repository)}"
        tags: list[str] = []
        url: str | None = wire.v2(f"{repository}/tags/list")
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = wire.exchange("GET", url, what, scopes=_pull(repository))
            if response.status_code == 404:
                return []
            wire.expect(response, what, 200)
            tags += wire.json(response, what).get("tags") or []
            url = wire.next_page(response)
        return tags

    # -- manifests --------------------------------------------------------------

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest `reference` names (HEAD, Docker-Content-Digest); None when unknown."""
        wire = self._transport
        what = f"HEAD manifest {_repository(repository)}:{_reference(reference)}"
        response = wire.exchange("HEAD", wire.v2(f"{repository}/manifests/{reference}"), what,
                                 scopes=_pull(repository), headers={"Accept": ACCEPT_MANIFESTS})
        if response.status_code == 404:
            return None
        wire.expect(response, what, 200)
        digest = response.headers.get("docker-content-digest", "").strip()
        if _DIGEST.fullmatch(digest):
            return digest
        return self.get_manifest(repository, reference)[2]  # a registry that does not say

    def referrers(self, repository: str, digest: str) -> list[dict]:
        """The descriptors of the manifests whose subject is `digest` (OCI 1.1 referrers API);
        [] where the registry has no such API or no referrers (404)."""
        wire = self._transport
        what = f"GET referrers {_repository(repository)}@{_reference(digest)}"
        response = wire.exchange("GET", wire.v2(f"{repository}/referrers/{digest}"), what,
                                 scopes=_pull(repository),
                                 headers={"Accept": "application/vnd.oci.image.index.v1+json"})
        if response.status_code == 404:
            wire.read(response, what)
            return []
        wire.expect(response, what, 200)
        manifests = wire.json(response, what).get("manifests")
        if not isinstance(manifests, list):
            return []
        return [entry for entry in manifests
                if isinstance(entry, dict) and isinstance(entry.get("digest"), str)
                and _DIGEST.fullmatch(entry["digest"]) and isinstance(entry.get("mediaType"), str)
                and isinstance(entry.get("size"), int)]

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """(body, media type, digest of the body) of `reference`; NotFound when unknown;
        DigestMismatch when `reference` is a digest the body does not hash to."""
        wire = self._transport
        what = f"GET manifest {_repository(repository)}:{_reference(reference)}"
        response = wire.exchange("GET", wire.v2(f"{repository}/manifests/{reference}"), what,
                                 scopes=_pull(repository), headers={"Accept": ACCEPT_MANIFESTS},
                                 stream=True)
        wire.expect(response, what, 200)
        body = wire.read_limited(response, what, MAX_MANIFEST_BYTES)
        media_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        if media_type in ("", "application/json", "text/plain", "application/octet-stream"):
            media_type = _declared_media_type(body) or media_type
        digest = _digest_of(body, reference)
        if _DIGEST.fullmatch(reference) and digest != reference:
            raise DigestMismatch(f"manifest {repository}@{reference} from registry {self.name} "
                                 f"hashes to {digest}")
        return body, media_type, digest

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest under a tag or its digest; returns its digest. DigestMismatch when
        the destination answers another Docker-Content-Digest."""
        wire = self._transport
        what = f"PUT manifest {_repository(repository)}:{_reference(reference)}"
        digest = _digest_of(body, reference)
        if _DIGEST.fullmatch(reference) and digest != reference:
            raise DigestMismatch(f"manifest for {repository}@{reference} hashes to {digest}")
        response = wire.exchange("PUT", wire.v2(f"{repository}/manifests/{reference}"), what,
                                 scopes=_push(repository), body=body,
                                 headers={"Content-Type": media_type})
        wire.expect(response, what, 200, 201, 202, 204)
        answered = response.headers.get("docker-content-digest", "").strip()
        if answered and answered != digest:
            raise DigestMismatch(f"registry {self.name} stored manifest {repository}:{reference} "
                                 f"as {answered[:80]}, expected {digest}")
        return digest

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """DELETE a manifest by digest; False when it was not there."""
        return self._delete(repository, _digest(digest), "manifest")

    def delete_tag(self, repository: str, tag: str) -> bool:
        """DELETE /v2/<repo>/manifests/<tag> (OCI 1.1); False when the tag was not there."""
        if not _TAG.fullmatch(tag):
            raise Refused(f"invalid tag {tag[:100]!r}")
        return self._delete(repository, tag, "tag")

    def _delete(self, repository: str, reference: str, kind: str) -> bool:
        wire = self._transport
        what = f"DELETE {kind} {_repository(repository)}:{reference}"
        response = wire.exchange("DELETE", wire.v2(f"{repository}/manifests/{reference}"), what,
                                 scopes=(f"repository:{repository}:delete",))
        if response.status_code == 404:
            return False
        if response.status_code == 405:
            raise Refused(f"registry {self.name} does not allow deleting a {kind} (HTTP 405): "
                          f"deletion is disabled there")
        if kind == "tag" and response.status_code == 400:
            wire.read(response, what)
            if oci_codes(response) & {"DIGEST_INVALID", "UNSUPPORTED"}:  # Distribution 2.x
                raise Refused(f"registry {self.name} cannot delete a tag alone (it predates OCI "
                              f"1.1): delete the manifest by digest instead")
        wire.expect(response, what, 200, 202, 204)
        return True

    # -- blobs ------------------------------------------------------------------

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The size of a blob (HEAD, Content-Length); None when the repository lacks it."""
        wire = self._transport
        what = f"HEAD blob {_repository(repository)}@{_digest(digest)}"
        response = wire.exchange("HEAD", wire.v2(f"{repository}/blobs/{digest}"), what,
                                 scopes=_pull(repository), follow=True)
        if response.status_code == 404:
            return None
        wire.expect(response, what, 200)
        try:
            return int(response.headers["content-length"])
        except (KeyError, ValueError):
            raise Refused(f"registry {self.name} answered {what} without a Content-Length")

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Link a blob another repository of this registry has; True when it did (201)."""
        wire = self._transport
        what = (f"mount blob {_digest(digest)} from {_repository(from_repository)} into "
                f"{_repository(repository)}")
        url = httpx.URL(wire.v2(f"{repository}/blobs/uploads/"),
                        params={"mount": digest, "from": from_repository})
        response = wire.exchange("POST", url, what, scopes=_push(repository) + _pull(from_repository),
                                 headers={"Content-Length": "0"})
        wire.expect(response, what, 201, 202)
        if response.status_code == 202 and response.headers.get("location"):
            # It opened an ordinary upload session instead: nobody will use it.
            wire.cancel_upload(wire.location(response, what), repository, what)
        return response.status_code == 201

    def open_blob(self, repository: str, digest: str, offset: int = 0) -> BlobStream:
        """Stream a blob from `offset` on (redirects followed, throttled)."""
        wire = self._transport
        what = f"GET blob {_repository(repository)}@{_digest(digest)}"
        headers = {"Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
        response = wire.exchange("GET", wire.v2(f"{repository}/blobs/{digest}"), what,
                                 scopes=_pull(repository), headers=headers, stream=True, follow=True)
        if response.status_code == 416:  # nothing after `offset`: is it the end?
            response.close()  # unread: Distribution's 416 announces a body it does not send
            if offset > 0 and self.blob_size(repository, digest) == offset:
                return BlobStream(wire, None, digest, offset, offset, 0)
            raise Refused(f"registry {self.name} has no bytes at offset {offset} for {what}")
        wire.expect(response, what, 200, 206)
        size, skip = None, 0
        if response.status_code == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
            if match is None or int(match.group(1)) != offset:
                response.close()
                raise Refused(f"registry {self.name} answered {what} with another range than asked")
            size = int(match.group(3)) if match.group(3) != "*" else None
        else:
            skip = offset  # the whole blob came: drop what was not asked for
            if response.headers.get("content-length", "").isdigit():
                size = int(response.headers["content-length"])
        if size is None:
            size = self.blob_size(repository, digest)
            if size is None:
                response.close()
                raise NotFound(f"{what}: not found on registry {self.name}")
        return BlobStream(wire, response, digest, size, offset, skip)

    def push_blob(self, repository: str, digest: str, size: int,
                  read_from: Callable[[int], Iterable[bytes]], *, chunk_size: int = 0,
                  attempts: int = 3, backoff: float = 1.0,
                  on_progress: Callable[[int], None] | None = None) -> None:
        """Upload a blob whose bytes `read_from(offset)` yields from `offset` on: one PUT
        (chunk_size 0) or PATCHes of `chunk_size` bytes then a PUT. A step that fails for a
        retryable reason is tried up to `attempts` times, waiting backoff * 2**k, going on
        from the bytes the destination kept; the end is checked with a HEAD (DigestMismatch
        when the destination lacks `size` bytes under `digest`). `on_progress(n)` hears of
        every acknowledgement of n bytes."""
        upload = BlobUpload(self._transport, _repository(repository), _digest(digest), size,
                            read_from, chunk_size, on_progress, self.blob_size)
        failures = 0
        try:
            while not upload.done:
                try:
                    if upload.step():
                        failures = 0
                except RETRYABLE as error:
                    failures += 1
                    if failures >= max(attempts, 1):
                        if not isinstance(error, Unreachable):  # no use waiting on a dead peer
                            upload.cancel()
                        raise
                    log.warning("blob upload step failed, retrying", registry=self.name,
                                repository=repository, digest=digest, offset=upload.offset,
                                failures=failures, error=str(error))
                    self._transport.sleep(backoff * 2 ** (failures - 1))
                    upload.failed()
        finally:
            upload.close()


def _declared_media_type(body: bytes) -> str:
    try:
        declared = json.loads(body).get("mediaType")
    except (ValueError, AttributeError):
        return ""
    return declared if isinstance(declared, str) else ""
