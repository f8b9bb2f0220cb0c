"""A small OCI client over the test HTTP client: push blobs, manifests, images."""

import hashlib
import json
import os

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


class OciClient:
    def __init__(self, http) -> None:
        self.http = http

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        response = self.http.post(f"/v2/{repo}/blobs/uploads/?digest={digest}", content=data)
        assert response.status_code == 201, response.text
        return digest

    def push_manifest(self, repo: str, reference: str, manifest: dict,
                      media_type: str = OCI_MANIFEST) -> tuple[str, bytes]:
        body = json.dumps(manifest).encode()
        response = self.http.put(f"/v2/{repo}/manifests/{reference}", content=body,
                                 headers={"content-type": media_type})
        assert response.status_code == 201, response.text
        return response.headers["docker-content-digest"], body

    def image_manifest(self, repo: str, layers: int = 2, seed: bytes | None = None, **extra) -> dict:
        seed = seed or os.urandom(8)
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed.hex()}).encode()
        self.push_blob(repo, config)
        layer_descriptors = []
        for index in range(layers):
            data = seed + bytes([index]) * 100
            self.push_blob(repo, data)
            layer_descriptors.append(descriptor(OCI_LAYER, data))
        return {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": descriptor(OCI_CONFIG, config), "layers": layer_descriptors, **extra}

    def push_image(self, repo: str, reference: str, **extra) -> tuple[str, bytes]:
        return self.push_manifest(repo, reference, self.image_manifest(repo, **extra))
