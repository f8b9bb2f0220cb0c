"""Wiring identity into a registry: users and robots (commands, queries, view), password
hashes, token keys, sealed secrets, sign-in throttling and the authorizer."""

from commands.iam.groups import GroupCommands, RecordSignInGroups
from commands.iam.handlers import IamCommands
from commands.iam.oidc_handlers import OidcCommands
from commands.iam.robot_trust import RobotTrustCommands
from domain.base import Actor
from domain.iam.user_group import OIDC_GROUP
from infra.auth.authz import Authorizer
from infra.auth.credentials import CredentialStore
from infra.auth.oidc_users import OidcCredentials, OidcUsers
from infra.auth.sessions import Sessions
from infra.auth.secrets import Secrets
from infra.auth.sign_in_guard import SignInGuard, throttle_from
from infra.auth.token_authz import TokenAuthorizer
from infra.auth.tokens import SigningKeyFile, TokenService
from infra.auth.workload_identity import WorkloadIdentity
from infra.wiring.admin import ADMIN, forget_stale_password
from projections.cache import ViewCache
from projections.group_queries import GroupQueries
from projections.iam_queries import IamQueries
from projections.iam_view import IamView
from projections.projector import Projector
from workers.sign_in_recorder import SignInRecorder, since_position


def attach_identity(registry, authorizer: Authorizer | None = None) -> None:
    app, db, settings = registry.app, registry.db, registry.settings
    registry.iam_queries = IamQueries(db, cache=ViewCache(enabled=registry.local_only))
    registry.iam_projector = Projector(app, db, IamView(), on_stale=registry.iam_queries.cache.invalidate)
    registry.projectors.insert(1, registry.iam_projector)
    registry.credentials = CredentialStore(db, cache=ViewCache(enabled=registry.local_only))
    registry.iam = IamCommands(app, registry.credentials)
    registry.groups = GroupCommands(app)  # user groups (ADR 0041)
    registry.group_queries = GroupQueries(db)
    registry.robot_trust = RobotTrustCommands(app)  # keyless CI robots (ADR 0045)

    def password_set(principal: str) -> None:
        if principal == ADMIN:  # the generated password on disk may be stale now
            forget_stale_password(registry)

    registry.credentials.observers.append(password_set)
    # Keys are loaded by the processes that use them (`start`), never made by the others.
    registry.tokens = TokenService(SigningKeyFile(settings.token_key_path, db, settings.uses_postgres),
                                   settings.token_lifetime_seconds)
    registry.secrets = Secrets(settings.secrets_key_path, db, creates=settings.role in ("all", "write"))
    sign_ins = attach_sign_ins(registry)
    registry.sessions = Sessions(db, registry.credentials.current_hash, settings.session_idle_seconds,
                                 settings.session_lifetime_seconds)
    registry.oidc = OidcUsers(registry, OidcCommands(app, registry.credentials))  # OIDC sign-in and CLI secrets (ADR 0043)
    registry.oidc.record_groups = group_recorder(registry, OIDC_GROUP)  # the groups claim (ADR 0041)
    credentials = OidcCredentials(registry.credentials, lambda: registry.oidc)
    registry.authorizer = authorizer or TokenAuthorizer(
        registry.iam_queries, registry.queries, credentials, registry.tokens, sign_ins,
        registry.external_url, registry.sessions)
    if isinstance(registry.authorizer, TokenAuthorizer):  # keyless CI robots (ADR 0045)
        registry.authorizer.workload = WorkloadIdentity(
            registry.iam_queries, sign_ins, settings.workload_issuer_allow_http_loopback)


def group_recorder(registry, group_type: int):
    """What a directory or provider sign-in calls with the user's groups: they are onboarded
    as user groups of `group_type` and become the user's groups until the next sign-in."""
    def record(username: str, groups: list[tuple[str, str]]) -> None:
        registry.groups.record_sign_in_groups(
            RecordSignInGroups(username, group_type, list(groups), Actor(name=username)))
        registry.catch_up_reads()
    return record


def attach_sign_ins(registry) -> SignInGuard:
    """Build the throttle and the failure recorder of a registry (`registry.sign_ins`)."""
    throttle = throttle_from(registry.settings)
    # On PostgreSQL several API processes share the log: each reads the others' failures.
    registry.sign_ins = SignInRecorder(registry.app, throttle, follow=registry.settings.uses_postgres,
                                       summary_seconds=throttle.pair.max_seconds)
    return SignInGuard(throttle, registry.sign_ins)


def restore_sign_ins(registry) -> int:
    """After a restart: feed the failures still within the window back into the throttle,
    so an attacker's wait goes on where it was. Returns how many were applied."""
    recorder = registry.sign_ins
    rule = recorder.throttle.pair
    seconds = max(rule.window_seconds, rule.max_seconds, recorder.throttle.source.window_seconds)
    return recorder.replay(since_position(registry.history, seconds, recorder.throttle.clock()))
