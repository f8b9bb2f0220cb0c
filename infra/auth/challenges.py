"""The Bearer challenges of /v2/, shaped as CNCF Distribution sends them (ADR 0023).

One `scope` parameter lists every scope the request needs, separated by spaces (RFC 6750
section 3; Distribution's `scopeParam`). A write asks for `pull,push` on its repository, as
Distribution does; a cross-repository mount also asks for `pull` on the source repository.
`error` is RFC 6750's: `invalid_token` for a token that does not verify, `insufficient_scope`
for a valid token that lacks an action the request needs.
"""

from domain.errors import Unauthorized
from infra.auth.tokens import SERVICE

CATALOG_SCOPE = "registry:catalog:*"


def repository_scope(repository: str, actions: set[str]) -> str:
    asked = set(actions) | ({"pull"} if "push" in actions else set())
    return f"repository:{repository}:{','.join(sorted(asked))}"


def request_scopes(repository: str | None, actions: set[str], mount_from: str | None) -> list[str]:
    """The scopes a request needs, in the order a challenge names them."""
    if repository is None:
        return [CATALOG_SCOPE] if "catalog" in actions else []
    scopes = [repository_scope(repository, actions)] if actions else []
    if mount_from is not None and mount_from != repository:
        scopes.append(repository_scope(mount_from, {"pull"}))
    return scopes


def challenge(realm: str, scopes: list[str], error: str | None = None,
              message: str = "authentication required") -> Unauthorized:
    refused = Unauthorized(message)
    value = f'Bearer realm="{realm}",service="{SERVICE}"'
    if scopes:
        value += f',scope="{" ".join(scopes)}"'
    if error is not None:
        value += f',error="{error}"'
    refused.challenge = value
    return refused
