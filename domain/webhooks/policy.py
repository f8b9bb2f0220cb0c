"""A project's webhook policy: which events go to which targets, in which form.

One stream per (project incarnation, policy name): a project deleted and created
again starts with no policies. A target's `auth_header` is stored in the events
sealed (infra/auth/secrets.py: the command side seals it before the event is made, the
sender opens it), and never shown: the public event form and the API answer
`REDACTED` instead. Events of older versions hold it in clear; they still load.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import msgspec

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict
from domain.names import check_text, stream_id

HARBOR_EVENT_TYPES = (
    "PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT", "SCANNING_COMPLETED", "SCANNING_FAILED",
    "SCANNING_STOPPED", "QUOTA_EXCEED", "QUOTA_WARNING", "REPLICATION", "TAG_RETENTION",
)
TIDEMARK_EVENT_TYPES = ("TAG_CREATED", "TAG_DELETED", "DELETE_REPOSITORY", "PROJECT_CHANGED",
                        "ROBOT_CHANGED")
EVENT_TYPES = HARBOR_EVENT_TYPES + TIDEMARK_EVENT_TYPES
# Accepted in policies, but nothing in Tidemark records these events yet.
WITHOUT_SOURCE = ("SCANNING_COMPLETED", "SCANNING_FAILED", "SCANNING_STOPPED", "REPLICATION")
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


def policy_key(project: str, project_id: int, name: str):
    """The stream of a policy: one per project incarnation and name."""
    return stream_id("webhook-policy", project, str(project_id), name)


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


class WebhookPolicy(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A webhook policy was created in a project."""

        project: str
        project_id: int
        name: str
        description: str
        targets: list[dict]
        event_types: list[str]
        enabled: bool

    class Recreated(RegistryAggregate.Event):
        """A policy was created again under the name of a deleted one."""

        project: str
        project_id: int
        name: str
        description: str
        targets: list[dict]
        event_types: list[str]
        enabled: bool

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.__init__(self.project, self.project_id, self.name, self.description,
                            self.targets, self.event_types, self.enabled)

    class Updated(RegistryAggregate.Event):
        """A policy's description, targets or event types changed."""

        project: str
        name: str
        description: str
        targets: list[dict]
        event_types: list[str]

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.description, policy.targets = self.description, self.targets
            policy.event_types = self.event_types

    class EnabledChanged(RegistryAggregate.Event):
        """A policy was enabled or disabled."""

        project: str
        name: str
        enabled: bool

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.enabled = self.enabled

    class SecretsResealed(RegistryAggregate.Event):
        """The targets' auth headers were sealed again, with key `key_id` (key rotation, or
        a clear header of an older version sealed); nothing else changed."""

        project: str
        name: str
        targets: list[dict]
        key_id: str

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.targets = self.targets

    class ReplayRequested(RegistryAggregate.Event):
        """Deliver every matching event after `from_position` up to `to_position` again."""

        project: str
        name: str
        from_position: int
        to_position: int

    class Deleted(RegistryAggregate.Event):
        """A policy was deleted; its pending deliveries are dropped."""

        project: str
        name: str

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.deleted = True

    def __init__(self, project: str, project_id: int, name: str, description: str,
                 targets: list[dict], event_types: list[str], enabled: bool) -> None:
        self.project = project
        self.project_id = project_id
        self.name = name
        self.description = description
        self.targets = targets
        self.event_types = event_types
        self.enabled = enabled
        self.deleted = False

    @classmethod
    def create(cls, project: str, project_id: int, spec: PolicySpec, actor: Actor) -> "WebhookPolicy":
        return cls._create(cls.Created, id=policy_key(project, project_id, spec.name), project=project,
                           project_id=project_id, **_fields(spec), enabled=spec.enabled,
                           **actor.fields())

    def recreate(self, spec: PolicySpec, actor: Actor) -> None:
        if not self.deleted:
            raise Conflict(f"name: a webhook policy named {self.name!r} exists in this project",
                           {"field": "name"})
        self.trigger_event(self.Recreated, project=self.project, project_id=self.project_id,
                           **_fields(spec), enabled=spec.enabled, **actor.fields())

    def update(self, spec: PolicySpec, actor: Actor) -> None:
        """Record what changed: targets, description and event types, then enabled."""
        self._alive()
        targets = [_keep_secret(t, self.targets) for t in _fields(spec)["targets"]]
        fields = {**_fields(spec), "targets": targets}
        if (fields["description"], targets, fields["event_types"]) != (
                self.description, self.targets, self.event_types):
            self.trigger_event(self.Updated, project=self.project, **fields, **actor.fields())
        if spec.enabled != self.enabled:
            self.trigger_event(self.EnabledChanged, project=self.project, name=self.name,
                               enabled=spec.enabled, **actor.fields())

    def reseal(self, targets: list[dict], key_id: str, actor: Actor) -> None:
        """Record the same targets with their auth headers sealed anew (only those may differ)."""
        self._alive()
        same = len(targets) == len(self.targets) and all(
            {**new, "auth_header": ""} == {**old, "auth_header": ""}
            for new, old in zip(targets, self.targets))
        if not same:
            raise Conflict("webhook policy changed meanwhile; reseal again", {"name": self.name})
        if targets != self.targets:
            self.trigger_event(self.SecretsResealed, project=self.project, name=self.name,
                               targets=targets, key_id=key_id, **actor.fields())

    def replay(self, from_position: int, to_position: int, actor: Actor) -> None:
        self._alive()
        if from_position < 0 or from_position >= to_position:
            raise BadRequest("from: must be a position or time before the newest event",
                             {"field": "from"})
        self.trigger_event(self.ReplayRequested, project=self.project, name=self.name,
                           from_position=from_position, to_position=to_position, **actor.fields())

    def delete(self, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.Deleted, project=self.project, name=self.name, **actor.fields())

    def _alive(self) -> None:
        if self.deleted:
            raise Conflict("webhook policy was deleted", {"name": self.name})


def _fields(spec: PolicySpec) -> dict:
    return {"name": spec.name, "description": spec.description,
            "targets": [msgspec.to_builtins(t) for t in spec.targets],
            "event_types": list(spec.event_types)}


def _keep_secret(target: dict, current: list[dict]) -> dict:
    """A target sent back with the redaction marker keeps the header it had (GET, edit, PUT)."""
    if target["auth_header"] != REDACTED:
        return target
    for old in current:
        if (old["type"], old["address"]) == (target["type"], target["address"]):
            return {**target, "auth_header": old["auth_header"]}
    raise BadRequest("targets.auth_header: the redacted value can only be sent back for an "
                     "unchanged target address", {"field": "targets.auth_header"})
