"""Registry endpoints: the other registries Tidemark replicates to and from (Harbor's
Registry), what each may say, and which kinds Tidemark can talk to.

An endpoint's `access_secret` reaches the aggregate sealed (infra/auth/secrets.py: the
command side seals it before the event is made, the replication worker opens it): events
and answers never hold it in clear.
"""

import re

import msgspec

from domain.errors import BadRequest
from domain.names import check_text
from domain.webhooks.targets import check_address

# The kinds spoken through the Distribution API (plus Harbor's REST API for `harbor`), with
# the address a public one has when the caller gives none.
SUPPORTED = {
    "docker-registry": "",
    "harbor": "",
    "docker-hub": "https://registry-1.docker.io",
    "github-ghcr": "https://ghcr.io",
    "quay": "https://quay.io",
    "gitlab": "https://registry.gitlab.com",
}
# Harbor's other adapters: cloud registries with their own APIs and credentials.
UNSUPPORTED = ("aws-ecr", "azure-acr", "google-gcr", "ali-acr", "huawei-SWR", "jfrog-artifactory",
               "helm-hub", "dtr", "tencent-tcr", "volcengine-cr")
CREDENTIAL_TYPES = ("basic", "oauth", "secret")
NAME = re.compile(r"^[A-Za-z0-9]+(?:[._ -][A-Za-z0-9]+)*$")
MAX_NAME, MAX_DESCRIPTION, MAX_SECRET, MAX_CA = 128, 1024, 8192, 65536


class EndpointSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What a caller says about a registry endpoint (the secret already sealed, or "")."""

    name: str
    url: str
    type: str = "docker-registry"
    description: str = ""
    credential_type: str = "basic"
    access_key: str = ""
    access_secret: str = ""
    insecure: bool = False
    ca_certificate: str = ""


def check_type(kind: str) -> str:
    if kind in SUPPORTED:
        return kind
    if kind in UNSUPPORTED:
        raise BadRequest(f"type: {kind} registries are not supported by Tidemark; supported: "
                         + ", ".join(SUPPORTED), {"field": "type"})
    raise BadRequest(f"type: unknown registry type {kind[:64]!r}; supported: " + ", ".join(SUPPORTED),
                     {"field": "type"})


def check_endpoint(spec: EndpointSpec, allow_link_local: bool) -> EndpointSpec:
    """The spec with its fields checked and normalised; BadRequest naming the field otherwise."""
    name = spec.name.strip()
    if not name or len(name) > MAX_NAME or not NAME.match(name):
        raise BadRequest("name: letters, digits and single '.', '_', '-' or ' ' between them, "
                         f"at most {MAX_NAME} characters", {"field": "name"})
    if len(spec.description) > MAX_DESCRIPTION:
        raise BadRequest(f"description: at most {MAX_DESCRIPTION} characters", {"field": "description"})
    check_text(spec.description, "description", multiline=True)
    kind = check_type(spec.type)
    url = (spec.url or SUPPORTED[kind]).strip().rstrip("/")
    url = check_address("url", url, allow_link_local).rstrip("/")
    if "?" in url or "#" in url:
        raise BadRequest("url: a registry address takes no query or fragment", {"field": "url"})
    if spec.credential_type not in CREDENTIAL_TYPES:
        raise BadRequest("credential.type: one of " + ", ".join(CREDENTIAL_TYPES), {"field": "credential.type"})
    if len(spec.access_key) > 1024 or "\n" in spec.access_key or ":" in spec.access_key:
        raise BadRequest("credential.access_key: one line of at most 1024 characters, without ':'",
                         {"field": "credential.access_key"})
    if len(spec.access_secret) > MAX_SECRET:
        raise BadRequest("credential.access_secret: too long", {"field": "credential.access_secret"})
    if len(spec.ca_certificate) > MAX_CA or (
            spec.ca_certificate and "-----BEGIN CERTIFICATE-----" not in spec.ca_certificate):
        raise BadRequest("ca_certificate: PEM-encoded certificates", {"field": "ca_certificate"})
    return msgspec.structs.replace(spec, name=name, url=url, type=kind,
                                   access_secret=spec.access_secret if spec.access_key else "")
