"""The Docker registry token service: `GET /service/token`."""

import anyio.to_thread
from litestar import Request, Response, get

from domain.iam.access import system_allows
from domain.errors import BadRequest, RegistryError, TooManyRequests
from domain.names import check_repository, project_of
from infra.http.errors import status_for
from infra.auth.tokens import SERVICE

MAX_SCOPES = 50
OCI_ACTIONS = {"pull", "push", "delete"}


def parse_scope(scope: str) -> tuple[str, str, set[str]]:
    """`repository:<name>:<actions>` or `registry:catalog:*` as (type, name, actions)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if kind not in ("repository", "registry") or not name or not actions:
        raise BadRequest("malformed scope", {"scope": scope[:200]})
    wanted = set(actions.split(","))
    if kind == "repository":
        check_repository(name)
        if "*" in wanted:
            wanted = set(OCI_ACTIONS)
        if not wanted <= OCI_ACTIONS:
            raise BadRequest("unknown action in scope", {"scope": scope[:200]})
    elif name != "catalog" or wanted != {"*"}:
        raise BadRequest("unsupported registry scope", {"scope": scope[:200]})
    return kind, name, wanted


def oci_error(request: Request, error: RegistryError) -> Response:
    """Waits are answered with the distribution spec's TOOMANYREQUESTS code, the one Docker
    clients recognise from a token service (Harbor's REST name for it is another)."""
    waits = {} if error.retry_after is None else {"retry-after": str(error.retry_after)}
    return Response({"errors": [{"code": error.code, "message": error.message}]},
                    status_code=status_for(error), headers=waits, media_type="application/json")


@get("/service/token", exception_handlers={TooManyRequests: oci_error})
async def issue_token(request: Request) -> Response:
    """A JWT whose `access` claim lists only what the caller may do in each requested scope."""
    registry = request.app.state.registry
    service = request.query_params.get("service")
    if service not in (None, SERVICE):
        raise BadRequest("unknown service", {"service": service[:100]})
    scopes = [part for value in request.query_params.getall("scope", [])
              for part in value.split(" ") if part]
    if len(scopes) > MAX_SCOPES:
        raise BadRequest(f"at most {MAX_SCOPES} scopes per token request")
    principal = await registry.authorizer.rest_principal(request, door="token")
    access, projects = [], {}
    for kind, name, wanted in (parse_scope(scope) for scope in scopes):
        if kind == "registry":
            granted = ["*"] if system_allows(principal, "catalog", "read") else []
            access.append({"type": kind, "name": name, "actions": granted})
        else:
            granted, projects[project_of(name)] = await registry.authorizer.grant(principal, name, wanted)
            access.append({"type": kind, "name": name, "actions": sorted(granted)})
    subject = "" if principal.anonymous else principal.name
    # off the loop: the lifetime comes from the system configuration (a query on PostgreSQL)
    issued = await anyio.to_thread.run_sync(registry.tokens.issue, subject, access, None, principal.account_id,
                                            projects, principal.expires_at)
    return Response(issued, status_code=200)
