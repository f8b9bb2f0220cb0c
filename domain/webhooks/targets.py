"""What a webhook policy may say: the event types, target kinds and payload formats, and the
checks of a target address (no link-local or cloud-metadata address unless allowed)."""

import ipaddress
import socket
from urllib.parse import urlsplit

import msgspec

from domain.errors import BadRequest
from domain.names import check_text


HARBOR_EVENT_TYPES = (
    "PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT", "SCANNING_COMPLETED", "SCANNING_FAILED",
    "SCANNING_STOPPED", "QUOTA_EXCEED", "QUOTA_WARNING", "REPLICATION", "TAG_RETENTION",
)
TIDEMARK_EVENT_TYPES = ("TAG_CREATED", "TAG_DELETED", "DELETE_REPOSITORY", "PROJECT_CHANGED",
                        "ROBOT_CHANGED")
EVENT_TYPES = HARBOR_EVENT_TYPES + TIDEMARK_EVENT_TYPES
# Accepted in policies, but nothing in Tidemark records these events yet (none since
# replication sends REPLICATION).
WITHOUT_SOURCE: tuple[str, ...] = ()
PAYLOAD_FORMATS = {"http": ("Default", "CloudEvents"), "slack": ("Default",)}
NOTIFY_TYPES = tuple(PAYLOAD_FORMATS)
REDACTED = "******"
MAX_TARGETS = 10

# Cloud metadata services that answer on names as well as on link-local addresses.
METADATA_HOSTS = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                  "instance-data.ec2.internal"}
METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254")}


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how one policy delivers: Harbor's WebhookTargetObject."""

    type: str = "http"
    address: str = ""
    auth_header: str = ""
    skip_cert_verify: bool = False
    payload_format: str = "Default"


class PolicySpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a caller sets on a policy."""

    name: str
    description: str = ""
    targets: list[Target] = []
    event_types: list[str] = []
    enabled: bool = True


def forbidden_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Link-local (169.254.0.0/16, fe80::/10, so cloud metadata) or a known metadata address."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_link_local or ip in METADATA_ADDRESSES


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP a host names literally, including the legacy forms (`2852039166`, `0xa9.254.169.254`)
    that resolvers accept; None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_address(field: str, address: str, allow_link_local: bool) -> str:
    """The address if it is an http(s) URL that does not point at link-local or metadata hosts."""
    def refuse(why: str) -> BadRequest:
        return BadRequest(f"{field}: {why}", {"field": field})

    if not address or len(address) > 2048:
        raise refuse("an http or https URL is required (at most 2048 characters)")
    try:
        parts = urlsplit(address.strip())
        port = parts.port
    except ValueError:
        raise refuse("not a valid URL")
    if parts.scheme.lower() not in ("http", "https"):
        raise refuse("must be an http or https URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise refuse("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise refuse("credentials in the URL are not allowed; use auth_header")
    if port == 0:
        raise refuse("port 0 is not a valid port")
    if allow_link_local:
        return address.strip()
    ip = literal_address(host)
    if (ip is not None and forbidden_address(ip)) or host in METADATA_HOSTS:
        raise refuse("link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10) are "
                     "refused (setting webhook_allow_link_local allows them)")
    return address.strip()


def check_spec(spec: PolicySpec, allow_link_local: bool) -> PolicySpec:
    """The policy with its fields checked and normalised; BadRequest naming the field otherwise."""
    name = spec.name.strip()
    if not 1 <= len(name) <= 256:
        raise BadRequest("name: 1 to 256 characters are required", {"field": "name"})
    if len(spec.description) > 1024:
        raise BadRequest("description: at most 1024 characters", {"field": "description"})
    check_text(name, "name")
    check_text(spec.description, "description", multiline=True)
    if not spec.event_types:
        raise BadRequest("event_types: at least one event type is required", {"field": "event_types"})
    for kind in spec.event_types:
        if kind not in EVENT_TYPES:
            raise BadRequest(f"event_types: unknown event type {kind[:64]!r}; supported: "
                             + ", ".join(EVENT_TYPES), {"field": "event_types"})
    if not 1 <= len(spec.targets) <= MAX_TARGETS:
        raise BadRequest(f"targets: 1 to {MAX_TARGETS} targets are required", {"field": "targets"})
    targets = []
    for index, target in enumerate(spec.targets):
        field = f"targets[{index}]"
        kind = (target.type or "http").lower()
        if kind not in PAYLOAD_FORMATS:
            raise BadRequest(f"{field}.type: must be one of {', '.join(NOTIFY_TYPES)}",
                             {"field": f"{field}.type"})
        payload_format = target.payload_format or "Default"
        if payload_format not in PAYLOAD_FORMATS[kind]:
            raise BadRequest(f"{field}.payload_format: {kind} targets take "
                             + " or ".join(PAYLOAD_FORMATS[kind]), {"field": f"{field}.payload_format"})
        if len(target.auth_header) > 4096 or "\n" in target.auth_header or "\r" in target.auth_header:
            raise BadRequest(f"{field}.auth_header: one line of at most 4096 characters",
                             {"field": f"{field}.auth_header"})
        address = check_address(f"{field}.address", target.address, allow_link_local)
        targets.append(Target(type=kind, address=address, auth_header=target.auth_header,
                              skip_cert_verify=target.skip_cert_verify, payload_format=payload_format))
    return PolicySpec(name=name, description=spec.description, targets=targets,
                      event_types=sorted(set(spec.event_types), key=EVENT_TYPES.index),
                      enabled=spec.enabled)


def redacted_targets(targets: list[dict]) -> list[dict]:
    """Targets as they may be shown: the auth header replaced by a marker."""
    return [{**t, "auth_header": REDACTED if t.get("auth_header") else ""} for t in targets]
