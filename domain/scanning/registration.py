"""Scanner registrations: which scanner adapters the registry knows, which one is the system
default, and which one each project uses (Harbor's ScannerRegistration).

All registrations live in one small stream: they are few and edited by system
administrators, and one stream makes unique names and the single default a plain
invariant (two racing writers meet a conflict on the stream and the command runs again).

`access_credential` reaches this aggregate sealed (infra/auth/secrets.py: the command side
seals it before the event is made, the scan worker opens it): events and answers never hold
it in clear.
"""

import re
from urllib.parse import urlsplit

import msgspec

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict, Forbidden, NotFound
from domain.names import stream_id

AUTH_TYPES = ("", "Basic", "Bearer", "X-ScannerAdapter-API-Key")
NAME = re.compile(r"^[A-Za-z0-9]+(?:[._ -][A-Za-z0-9]+)*$")
MAX_NAME, MAX_DESCRIPTION, MAX_URL, MAX_CREDENTIAL = 128, 1024, 2048, 4096
REGISTRATIONS_ID = stream_id("scanner-registrations")


class ScannerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What a caller says about a registration (the credential already sealed, or "")."""

    name: str
    url: str
    description: str = ""
    auth: str = ""
    access_credential: str = ""
    skip_cert_verify: bool = False
    use_internal_addr: bool = False
    disabled: bool = False


def check_spec(spec: ScannerSpec) -> ScannerSpec:
    """The spec if every field is acceptable, else BadRequest naming the field."""
    name = spec.name.strip()
    if not name or len(name) > MAX_NAME or not NAME.match(name):
        raise BadRequest("name: letters, digits and single '.', '_', '-' or ' ' between them, "
                         f"at most {MAX_NAME} characters", {"field": "name"})
    if len(spec.description) > MAX_DESCRIPTION:
        raise BadRequest(f"description: at most {MAX_DESCRIPTION} characters", {"field": "description"})
    check_url(spec.url)
    if spec.auth not in AUTH_TYPES:
        raise BadRequest("auth: one of \"\", Basic, Bearer, X-ScannerAdapter-API-Key", {"field": "auth"})
    if len(spec.access_credential) > MAX_CREDENTIAL:
        raise BadRequest("access_credential: too long", {"field": "access_credential"})
    return msgspec.structs.replace(spec, name=name, url=spec.url.rstrip("/"),
                                   access_credential=spec.access_credential if spec.auth else "")


def check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname
            or parts.username or parts.password or parts.query or parts.fragment or port == 0):
        raise BadRequest("url: an http:// or https:// address of the scanner adapter, without "
                         "credentials, query or fragment", {"field": "url"})


def project_key(project: str, project_id: int) -> str:
    """A project incarnation: a project created again under a deleted one's name starts afresh."""
    return f"{project}\x1f{project_id}"


class ScannerRegistrations(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """The list of scanner registrations was started (before its first registration)."""

    class Registered(RegistryAggregate.Event):
        """A scanner adapter was registered."""

        uuid: str
        registration: dict  # ScannerSpec fields, the credential sealed
        is_default: bool

        def apply(self, r: "ScannerRegistrations") -> None:
            r.items[self.uuid] = {**self.registration, "created": self.timestamp.isoformat(),
                                  "updated": self.timestamp.isoformat()}
            if self.is_default:
                r.default = self.uuid

    class Changed(RegistryAggregate.Event):
        """A registration's settings changed."""

        uuid: str
        registration: dict

        def apply(self, r: "ScannerRegistrations") -> None:
            r.items[self.uuid] = {**r.items[self.uuid], **self.registration,
                                  "updated": self.timestamp.isoformat()}

    class Removed(RegistryAggregate.Event):
        """A registration was removed; projects that used it fall back to the default."""

        uuid: str
        name: str

        def apply(self, r: "ScannerRegistrations") -> None:
            r.items.pop(self.uuid, None)
            r.projects = {k: v for k, v in r.projects.items() if v != self.uuid}

    class DefaultChosen(RegistryAggregate.Event):
        """A registration became the system default."""

        uuid: str

        def apply(self, r: "ScannerRegistrations") -> None:
            r.default = self.uuid

    class ProjectScannerChosen(RegistryAggregate.Event):
        """A project chose the scanner it uses."""

        project: str
        project_id: int
        uuid: str

        def apply(self, r: "ScannerRegistrations") -> None:
            r.projects[project_key(self.project, self.project_id)] = self.uuid

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}
        self.default = ""
        self.projects: dict[str, str] = {}

    @classmethod
    def start(cls) -> "ScannerRegistrations":
        return cls._create(cls.Started, id=REGISTRATIONS_ID, actor="system", client_ip="", request_id="")

    def get(self, uuid: str) -> dict:
        if uuid not in self.items:
            raise NotFound("scanner registration not found", {"registration_id": uuid[:64]})
        return self.items[uuid]

    def by_name(self, name: str) -> str | None:
        return next((u for u, item in self.items.items() if item["name"] == name), None)

    def register(self, uuid: str, spec: ScannerSpec, actor: Actor, make_default: bool = False) -> None:
        """Record a new registration; the first one (or `make_default`) becomes the default."""
        spec = check_spec(spec)
        self._name_free(spec.name, uuid)
        if uuid in self.items:
            raise Conflict("a registration with this id exists", {"registration_id": uuid})
        if spec.auth and not spec.access_credential:
            raise BadRequest(f"access_credential: auth {spec.auth} needs a credential",
                             {"field": "access_credential"})
        self.trigger_event(self.Registered, uuid=uuid, registration=msgspec.to_builtins(spec),
                           is_default=make_default or not self.default, **actor.fields())

    def change(self, uuid: str, spec: ScannerSpec, actor: Actor) -> None:
        """Record new settings; an empty credential keeps the stored one while auth needs one."""
        current = self.get(uuid)
        spec = check_spec(spec)
        self._name_free(spec.name, uuid)
        if spec.auth and not spec.access_credential:
            if not current.get("auth") or not current.get("access_credential"):
                raise BadRequest(f"access_credential: auth {spec.auth} needs a credential",
                                 {"field": "access_credential"})
            spec = msgspec.structs.replace(spec, access_credential=current["access_credential"])
        fields = msgspec.to_builtins(spec)
        if any(current.get(k) != v for k, v in fields.items()):
            self.trigger_event(self.Changed, uuid=uuid, registration=fields, **actor.fields())

    def remove(self, uuid: str, actor: Actor) -> dict:
        """Remove a registration other than the default; return what it was."""
        item = self.get(uuid)
        if uuid == self.default:
            raise Forbidden("the default scanner registration cannot be deleted; make another "
                            "one the default first")
        self.trigger_event(self.Removed, uuid=uuid, name=item["name"], **actor.fields())
        return item

    def choose_default(self, uuid: str, actor: Actor) -> None:
        self.get(uuid)
        if uuid != self.default:
            self.trigger_event(self.DefaultChosen, uuid=uuid, **actor.fields())

    def choose_for_project(self, project: str, project_id: int, uuid: str, actor: Actor) -> None:
        item = self.items.get(uuid)
        if item is None:
            raise BadRequest("uuid: no scanner registration has this id", {"field": "uuid"})
        if item.get("disabled"):
            raise BadRequest("uuid: the scanner registration is disabled", {"field": "uuid"})
        if self.projects.get(project_key(project, project_id)) != uuid:
            self.trigger_event(self.ProjectScannerChosen, project=project, project_id=project_id,
                               uuid=uuid, **actor.fields())

    def for_project(self, project: str, project_id: int) -> str | None:
        """The registration a project scans with: its own choice, else the default (None when
        there is none)."""
        chosen = self.projects.get(project_key(project, project_id))
        if chosen in self.items:
            return chosen
        return self.default if self.default in self.items else None

    def _name_free(self, name: str, uuid: str) -> None:
        holder = self.by_name(name)
        if holder is not None and holder != uuid:
            raise Conflict(f"name: a scanner registration named {name!r} exists", {"field": "name"})
