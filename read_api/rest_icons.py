"""Artifact icons (Harbor's `/icons/{digest}`): a few small SVGs drawn for Tidemark, each
named by the sha256 of its bytes. An artifact's `icon` field names the one of its type;
Harbor's portal shows it as `data:<content-type>;base64,<content>`."""

import base64
import hashlib

from litestar import get
from litestar.params import Parameter

from domain.errors import NotFound

_FRAME = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
          '<rect x="2" y="2" width="60" height="60" rx="12" fill="{fill}"/>{body}</svg>')
_DRAWINGS = {
    # three stacked layers
    "image": ("#2f6f9f", '<path d="M32 12 52 22 32 32 12 22Z" fill="#fff"/>'
                         '<path d="M12 31 32 41 52 31M12 40 32 50 52 40" fill="none" '
                         'stroke="#fff" stroke-width="4" stroke-linejoin="round"/>'),
    # a wheel with six spokes
    "chart": ("#3a4f8c", '<circle cx="32" cy="32" r="17" fill="none" stroke="#fff" stroke-width="5"/>'
                         '<path d="M32 9V55M12 20 52 44M12 44 52 20" stroke="#fff" stroke-width="4"/>'
                         '<circle cx="32" cy="32" r="6" fill="#fff"/>'),
    # a tied bundle
    "cnab": ("#7a4f9c", '<rect x="14" y="20" width="36" height="30" rx="3" fill="#fff"/>'
                        '<path d="M32 20V50M14 32H50" stroke="#7a4f9c" stroke-width="4"/>'
                        '<path d="M24 20 32 12 40 20" fill="none" stroke="#fff" stroke-width="4"/>'),
    # a module block with a notch
    "wasm": ("#5a49c9", '<path d="M14 14H26A6 6 0 0 0 38 14H50V50H14Z" fill="#fff"/>'
                        '<path d="M20 40 24 26 28 40 32 26 36 40M40 40 44 26 48 40" fill="none" '
                        'stroke="#5a49c9" stroke-width="3"/>'),
    # a page with a folded corner: any other type
    "default": ("#5f6b73", '<path d="M18 10H38L48 20V54H18Z" fill="#fff"/>'
                           '<path d="M38 10V20H48" fill="none" stroke="#5f6b73" stroke-width="3"/>'),
}
CONTENT_TYPE = "image/svg+xml"
_BYTES = {kind: _FRAME.format(fill=fill, body=body).encode() for kind, (fill, body) in _DRAWINGS.items()}
ICONS = {kind: "sha256:" + hashlib.sha256(data).hexdigest() for kind, data in _BYTES.items()}
_BY_DIGEST = {digest: _BYTES[kind] for kind, digest in ICONS.items()}


def icon_for(kind: str, artifact_type: str | None) -> str:
    """The icon digest for an artifact of this Harbor type (IMAGE, CHART, ...) and media type."""
    words = f"{kind} {artifact_type or ''}".lower()
    if kind in ("IMAGE", "IMAGE_INDEX"):
        return ICONS["image"]
    for name, marks in (("chart", ("chart", "helm")), ("cnab", ("cnab",)), ("wasm", ("wasm",))):
        if any(mark in words for mark in marks):
            return ICONS[name]
    return ICONS["default"]


@get("/api/v2.0/icons/{digest:str}", sync_to_thread=False)
def get_icon(digest: str = Parameter()) -> dict:
    """An icon by digest (public, as Harbor's: the portal shows it before anyone signs in)."""
    data = _BY_DIGEST.get(digest)
    if data is None:
        raise NotFound("no icon has this digest", {"digest": digest[:80]})
    return {"content-type": CONTENT_TYPE, "content": base64.b64encode(data).decode()}
