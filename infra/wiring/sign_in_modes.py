"""Wiring the auth modes (ADR 0042): the password check every door uses, LDAP onboarding
through the user-creation command, and administrators by the directory's admin group."""

import secrets

import msgspec

from commands.iam.handlers import new_secret
from commands.iam.messages import CreateUser
from domain.base import Actor
from domain.errors import BadRequest
from domain.iam.user import check_email
from domain.iam.user_group import LDAP_GROUP
from infra.auth.ldap_directory import DirectoryUser
from infra.auth.sign_in_modes import SignInModes
from infra.auth.token_authz import TokenAuthorizer
from infra.wiring.identity import group_recorder


def attach_sign_in_modes(registry) -> None:
    """After identity and configuration: `registry.sign_in_modes`, used by the authorizer."""

    def onboard(user: DirectoryUser) -> None:
        try:
            email = check_email(user.email)
        except BadRequest:  # a directory's odd address is not a reason to refuse the sign-in
            email = ""
        registry.iam.create_user(CreateUser(
            username=user.username, email=email, realname=user.realname[:255],
            comment="onboarded from LDAP", password=new_secret() + secrets.token_hex(4),
            sysadmin=False, actor=Actor(name=user.username)))
        registry.catch_up_reads()

    authorizer = registry.authorizer
    # Outside ldap_auth, and for database users, the password check the authorizer was built
    # with (under oidc_auth, OIDC users' CLI secrets: infra/auth/oidc_users.py).
    fallback = authorizer.credentials if isinstance(authorizer, TokenAuthorizer) else registry.credentials
    modes = registry.sign_in_modes = SignInModes(
        fallback, registry.configuration, registry.secrets, onboard,
        known_user=lambda name: registry.iam_queries.user(name) is not None)
    modes.groups_found = group_recorder(registry, LDAP_GROUP)  # the directory's groups (ADR 0041)
    if isinstance(authorizer, TokenAuthorizer):
        authorizer.sign_in = modes
        looked_up = authorizer.principal_for

        async def principal_for(name: str):
            """The user, and an administrator while the directory's admin group says so."""
            principal = await looked_up(name)
            if principal is not None and not principal.sysadmin and modes.is_directory_admin(name):
                return msgspec.structs.replace(principal, sysadmin=True)
            return principal

        authorizer.principal_for = principal_for
        # A password checked under one auth mode or directory is not checked under another:
        # when the configuration changes, cached successes go (on PostgreSQL, in the process
        # whose projector saw the change; others within the 60 s the cache keeps them).
        for projector in registry.projectors:
            if projector.name == "configuration":
                told = projector.on_stale

                def configuration_changed(keys: set, told=told) -> None:
                    told(keys)
                    authorizer.forget_checked_passwords()

                projector.on_stale = configuration_changed
