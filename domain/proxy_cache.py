"""Proxy-cache projects (pull-through caches of a registry endpoint): which upstream repository
a local one stands for, and the project's repository allow-list. Pure rules."""

from domain.base import Actor
from domain.errors import RegistryError
from domain.selectors import Selector, selected

DOCKER_HUB = "docker-hub"
ACTOR = "proxy-cache"
PUSH_REFUSED = "pushes into a proxy-cache project are not allowed"


class UpstreamUnavailable(RegistryError):
    """The upstream registry cannot be reached (or fails) and nothing is cached to serve:
    503, which Docker and containerd clients treat as temporary and retry."""

    code = "UNAVAILABLE"


def proxy_actor(client_ip: str = "", request_id: str = "") -> Actor:
    """Who caches: "proxy-cache", on behalf of the pull (address, request id) that asked."""
    return Actor(name=ACTOR, client_ip=client_ip, request_id=request_id)


def path_in_project(repository: str) -> str:
    """`hub/library/nginx` -> `library/nginx`: the repository without its project."""
    return repository.split("/", 1)[1] if "/" in repository else repository


def upstream_repository(registry_type: str, repository: str) -> str:
    """The upstream name of a local repository of a proxy project, with Docker Hub's rule (an
    official image is `library/<name>`; the same rule as replication's)."""
    path = path_in_project(repository)
    if registry_type == DOCKER_HUB and "/" not in path:
        return f"library/{path}"
    return path


def allowed(settings: dict[str, str], repository: str) -> bool:
    """Whether the project's allow-list (`proxy_cache_filter_pattern`, of
    `proxy_cache_filter_kind` doublestar or regex) lets the repository through: no pattern lets
    everything through. The pattern is matched against the repository inside the project
    (`nginx`, `library/nginx`); a one-part name also matches as Docker Hub spells it
    (`library/nginx`), so one pattern serves both spellings."""
    pattern = settings.get("proxy_cache_filter_pattern", "")
    if not pattern:
        return True
    selector = Selector(settings.get("proxy_cache_filter_kind") or "doublestar", "matches", pattern)
    path = path_in_project(repository)
    names = [path] if "/" in path else [path, f"library/{path}"]
    return any(selected([selector], name) for name in names)
