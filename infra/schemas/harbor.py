"""Wire shapes of the Harbor v2.0 API (msgspec Structs; Litestar builds the OpenAPI from them)."""

import msgspec


class UserCreationReq(msgspec.Struct):
    username: str
    password: str
    email: str = ""
    realname: str = ""
    comment: str = ""


class UserProfile(msgspec.Struct):
    email: str | None = None
    realname: str | None = None
    comment: str | None = None


class PasswordReq(msgspec.Struct):
    new_password: str
    old_password: str | None = None


class OIDCCliSecretReq(msgspec.Struct):
    secret: str


class UserSysAdminFlag(msgspec.Struct):
    sysadmin_flag: bool


class UserEnabled(msgspec.Struct):
    """Tidemark addition: disabling a user ends all of its access at once."""

    enabled: bool


class OIDCUserInfo(msgspec.Struct):
    """Harbor's oidc_user_meta. `secret` stays empty: Tidemark keeps only a hash of the CLI
    secret (set it with PUT /users/{id}/cli_secret), so it cannot show it back."""

    id: int
    user_id: int
    subiss: str
    secret: str
    creation_time: str
    update_time: str


class UserResp(msgspec.Struct):
    user_id: int
    username: str
    email: str
    realname: str
    comment: str
    sysadmin_flag: bool
    admin_role_in_auth: bool
    creation_time: str
    update_time: str
    enabled: bool = True
    oidc_user_meta: OIDCUserInfo | msgspec.UnsetType = msgspec.UNSET  # GET /users/current only


class ProjectMetadata(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Harbor's project metadata keys, each a string (domain/project_settings.py checks values)."""

    public: str | None = None
    enable_content_trust: str | None = None
    enable_content_trust_cosign: str | None = None
    prevent_vul: str | None = None
    severity: str | None = None
    auto_scan: str | None = None
    auto_sbom_generation: str | None = None
    reuse_sys_cve_allowlist: str | None = None
    retention_id: str | None = None
    proxy_speed_kb: str | None = None
    max_upstream_conn: str | None = None
    proxy_cache_local_on_not_found: str | None = None
    proxy_referrer_api: str | None = None
    proxy_cache_filter_pattern: str | None = None
    proxy_cache_filter_kind: str | None = None


class CVEAllowlistItem(msgspec.Struct):
    cve_id: str = ""


class CVEAllowlist(msgspec.Struct):
    """A project's CVE allowlist; in requests, `id`, `project_id` and the times are ignored."""

    items: list[CVEAllowlistItem] = []
    expires_at: int | None = None
    id: int = 0
    project_id: int = 0
    creation_time: str | None = None
    update_time: str | None = None


class ProjectReq(msgspec.Struct):
    project_name: str | None = None
    public: bool | None = None
    metadata: ProjectMetadata | None = None
    cve_allowlist: CVEAllowlist | None = None
    storage_limit: int | None = None
    registry_id: int | None = None


class Project(msgspec.Struct):
    project_id: int
    owner_id: int
    name: str
    owner_name: str
    creation_time: str
    update_time: str
    deleted: bool
    repo_count: int
    metadata: dict[str, str]
    current_user_role_id: int
    current_user_role_ids: list[int]
    registry_id: int = 0
    togglable: bool = True
    cve_allowlist: CVEAllowlist | None = None


class UserEntity(msgspec.Struct):
    user_id: int | None = None
    username: str | None = None


class UserGroup(msgspec.Struct):
    """Harbor's UserGroup: a request body (`POST`/`PUT /usergroups`, `member_group`) and an answer."""

    id: int | None = None
    group_name: str | None = None
    group_type: int | None = None
    ldap_group_dn: str | None = None


class UserGroupResp(msgspec.Struct):
    id: int
    group_name: str
    group_type: int
    ldap_group_dn: str


class UserGroupSearchItem(msgspec.Struct):
    id: int
    group_name: str
    group_type: int


class ProjectMember(msgspec.Struct):
    role_id: int
    member_user: UserEntity | None = None
    member_group: UserGroup | None = None


class RoleRequest(msgspec.Struct):
    role_id: int


class ProjectMemberEntity(msgspec.Struct):
    id: int
    project_id: int
    entity_name: str
    role_name: str
    role_id: int
    entity_id: int
    entity_type: str = "u"


class Access(msgspec.Struct):
    resource: str
    action: str
    effect: str = "allow"


class RobotPermission(msgspec.Struct):
    kind: str
    namespace: str
    access: list[Access]


class RobotCreate(msgspec.Struct):
    name: str
    level: str
    permissions: list[RobotPermission]
    description: str = ""
    duration: int = -1
    disable: bool = False
    secret: str | None = None


class RobotUpdate(msgspec.Struct):
    name: str
    level: str
    permissions: list[RobotPermission]
    description: str = ""
    duration: int = -1
    disable: bool = False


class RobotCreated(msgspec.Struct):
    id: int
    name: str
    secret: str
    creation_time: str
    expires_at: int


class Robot(msgspec.Struct):
    id: int
    name: str
    description: str
    level: str
    duration: int
    editable: bool
    disable: bool
    expires_at: int
    permissions: list[RobotPermission]
    creator_type: str
    creation_time: str
    update_time: str


class RobotSec(msgspec.Struct):
    secret: str | None = None


class Permission(msgspec.Struct):
    resource: str
    action: str


class Permissions(msgspec.Struct):
    system: list[Permission]
    project: list[Permission]


class Repository(msgspec.Struct):
    id: int
    project_id: int
    name: str
    description: str
    artifact_count: int
    pull_count: int
    creation_time: str
    update_time: str


class Tag(msgspec.Struct):
    id: int
    repository_id: int
    artifact_id: int
    name: str
    push_time: str
    pull_time: str
    immutable: bool = False


class Artifact(msgspec.Struct):
    id: int
    type: str
    media_type: str
    manifest_media_type: str
    artifact_type: str | None
    project_id: int
    repository_id: int
    repository_name: str
    digest: str
    size: int
    push_time: str
    pull_time: str
    annotations: dict[str, str]
    references: list[dict]
    tags: list[Tag] | None
    extra_attrs: dict = {}
    labels: list[dict] | None = None  # with_label=true
    accessories: list[dict] | None = None  # with_accessory=true
    icon: str = ""  # the digest of the type's icon (/icons/{digest})
    scan_overview: dict | None = None  # with_scan_overview=true: report MIME type -> overview
    sbom_overview: dict | None = None  # with_sbom_overview=true: the newest SBOM run


class TagReq(msgspec.Struct):
    name: str


class AtReq(msgspec.Struct):
    """Tidemark addition: a moment, as an RFC 3339 time or an event position (a number, or
    its digits in a string)."""

    at: str | int


class TagHistoryEntry(msgspec.Struct):
    """Tidemark addition: one digest a tag pointed to, from when to when, moved by whom."""

    digest: str
    from_time: str
    from_position: int
    to_time: str | None
    to_position: int | None
    moved_by: str
