"""Minimal OCI distribution client on http.client that streams bodies from memory."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
from urllib.parse import urlencode, urlsplit

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST_ACCEPT = ", ".join([
    OCI_MANIFEST,
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


class HTTPError(RuntimeError):
    pass


def sha256(*chunks) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return "sha256:" + h.hexdigest()


class Conn:
    """One keep-alive connection; reconnects transparently when the server closes it.
    `headers` (e.g. Authorization) are sent with every request."""

    def __init__(self, host: str, port: int, timeout: float = 120.0,
                 headers: dict | None = None):
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = dict(headers or {})
        self._c: http.client.HTTPConnection | None = None

    def _conn(self) -> http.client.HTTPConnection:
        if self._c is None:
            self._c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._c.connect()
            self._c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._c

    def close(self) -> None:
        if self._c is not None:
            self._c.close()
            self._c = None

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                length: int | None = None):
        """body: None, bytes/memoryview, or a list of bytes-likes sent back to back.
        Returns (status, headers as lower-cased dict, response bytes)."""
        chunks = [] if body is None else (body if isinstance(body, list) else [body])
        if length is None:
            length = sum(len(c) for c in chunks)
        for attempt in (0, 1):
            c = self._conn()
            try:
                c.putrequest(method, path, skip_accept_encoding=True)
                for k, v in {**self.headers, **(headers or {})}.items():
                    c.putheader(k, v)
                if method in ("POST", "PUT", "PATCH") or chunks:
                    c.putheader("Content-Length", str(length))
                c.endheaders()
                for ch in chunks:
                    c.sock.sendall(ch)
                r = c.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if r.will_close:
                    self.close()
                return r.status, hdrs, data
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError, http.client.CannotSendRequest):
                self.close()
                if attempt or chunks and length > 1 << 20:
                    raise
        raise AssertionError("unreachable")


def _path(location: str) -> str:
    """Path+query of a (possibly absolute) Location header."""
    parts = urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


def _with_query(location: str, extra: str) -> str:
    path = _path(location)
    return path + ("&" if "?" in path else "?") + extra


def push_blob(conn: Conn, repo: str, data, digest: str, mode: str = "post") -> int:
    """mode 'post': monolithic POST ?digest= with body (expects 201).
    mode 'post-put': POST to open an upload, then PUT <location>?digest= with body."""
    if mode == "post":
        st, h, b = conn.request(
            "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data,
            {"Content-Type": "application/octet-stream"})
        if st != 201:
            raise HTTPError(f"monolithic POST {repo}: {st} {b[:300]!r}")
        return st
    st, h, b = conn.request("POST", f"/v2/{repo}/blobs/uploads/")
    if st != 202:
        raise HTTPError(f"POST upload {repo}: {st} {b[:300]!r}")
    st, h, b = conn.request("PUT", _with_query(h["location"], f"digest={digest}"), data,
                            {"Content-Type": "application/octet-stream"})
    if st != 201:
        raise HTTPError(f"PUT upload {repo}: {st} {b[:300]!r}")
    return st


def push_blob_chunked(conn: Conn, repo: str, chunks: list, digest: str) -> int:
    """POST, one streamed PATCH carrying all chunks, then PUT ?digest= (docker-style)."""
    st, h, b = conn.request("POST", f"/v2/{repo}/blobs/uploads/")
    if st != 202:
        raise HTTPError(f"POST upload {repo}: {st} {b[:300]!r}")
    st, h, b = conn.request("PATCH", _path(h["location"]), chunks,
                            {"Content-Type": "application/octet-stream"})
    if st != 202:
        raise HTTPError(f"PATCH upload {repo}: {st} {b[:300]!r}")
    st, h, b = conn.request("PUT", _with_query(h["location"], f"digest={digest}"))
    if st != 201:
        raise HTTPError(f"PUT upload {repo}: {st} {b[:300]!r}")
    return st


def probe_push_mode(host: str, port: int, repo: str, headers: dict | None = None) -> str:
    """Does the server accept a monolithic POST with ?digest=? ('post' or 'post-put')."""
    data = os.urandom(1024)
    conn = Conn(host, port, timeout=30, headers=headers)
    try:
        st, h, b = conn.request("POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(data)}",
                                data, {"Content-Type": "application/octet-stream"})
    finally:
        conn.close()
    if st == 201:
        return "post"
    if st == 202:
        return "post-put"
    raise HTTPError(f"probe POST {repo}: {st} {b[:300]!r}")


def blob_exists(conn: Conn, repo: str, digest: str) -> bool:
    st, _, _ = conn.request("HEAD", f"/v2/{repo}/blobs/{digest}")
    return st == 200


def image_manifest(config: bytes, layers: list[bytes]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(l), "size": len(l)}
                   for l in layers],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def tiny_config(tag: str) -> bytes:
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"bench": tag}},
        "rootfs": {"type": "layers", "diff_ids": []},
    }, separators=(",", ":")).encode()


def put_manifest(conn: Conn, repo: str, ref: str, manifest: bytes,
                 media_type: str = OCI_MANIFEST) -> str:
    st, h, b = conn.request("PUT", f"/v2/{repo}/manifests/{ref}", manifest,
                            {"Content-Type": media_type})
    if st != 201:
        raise HTTPError(f"PUT manifest {repo}:{ref}: {st} {b[:300]!r}")
    return h.get("docker-content-digest", sha256(manifest))


def mount_blob(conn: Conn, dst: str, digest: str, src: str) -> int:
    st, _, _ = conn.request("POST", f"/v2/{dst}/blobs/uploads/?mount={digest}&from={src}")
    return st


def push_image(conn: Conn, repo: str, layers: list[bytes], tags: list[str],
               mode: str, config: bytes | None = None) -> str:
    """Push config + layers (skipping ones present), the manifest by digest and tags."""
    config = config if config is not None else tiny_config(repo)
    for blob in [config, *layers]:
        d = sha256(blob)
        if not blob_exists(conn, repo, d):
            push_blob(conn, repo, blob, d, mode)
    manifest = image_manifest(config, layers)
    digest = put_manifest(conn, repo, sha256(manifest), manifest)
    for t in tags:
        put_manifest(conn, repo, t, manifest)
    return digest


def _challenge_params(value: str) -> dict:
    """Parameters of a `Bearer realm="..",service="..",scope=".."` challenge."""
    out = {}
    for part in re.findall(r'(\w+)="([^"]*)"', value):
        out[part[0]] = part[1]
    return out


def bearer_token(host: str, port: int, repo: str, actions: str,
                 basic: dict | None = None) -> str | None:
    """Docker token flow: provoke a 401 on the repository, then GET the challenge's
    realm (a loopback URL of the same server) for `repository:<repo>:<actions>`,
    with Basic credentials if given. None when the server does not challenge."""
    conn = Conn(host, port, timeout=30)
    try:
        st, h, _ = conn.request("GET", f"/v2/{repo}/tags/list")
        chal = h.get("www-authenticate", "")
        if st != 401 or not chal.lower().startswith("bearer"):
            return None
        p = _challenge_params(chal)
        realm = urlsplit(p["realm"])
        if realm.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise HTTPError(f"token realm is not on loopback: {p['realm']}")
        query = urlencode({"service": p.get("service", ""),
                           "scope": f"repository:{repo}:{actions}"})
        tconn = Conn(realm.hostname, realm.port or 80, timeout=30, headers=basic)
        try:
            st, h, body = tconn.request("GET", f"{realm.path}?{query}")
        finally:
            tconn.close()
        if st != 200:
            raise HTTPError(f"token request: {st} {body[:200]!r}")
        doc = json.loads(body)
        return doc.get("token") or doc.get("access_token")
    finally:
        conn.close()
