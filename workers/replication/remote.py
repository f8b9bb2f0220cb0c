"""The other side of a policy: a Distribution API client for a registry endpoint, with its
secret opened for this use only, and what a Harbor (or Tidemark) endpoint needs before a push
(the destination project)."""

from urllib.parse import quote

import httpx

from infra.replication.distribution import RegistryClient
from infra.replication.errors import ReplicationError, Unauthorized, Unreachable
from infra.replication.transport import ssl_context

DOCKER_HUB = "docker-hub"


def client_for(registry, endpoint: dict, speed_kb: int = 0, timeout: float = 30.0) -> RegistryClient:
    secret = registry.replication.secret(endpoint)
    return RegistryClient(endpoint["url"], username=endpoint.get("access_key", ""), password=secret,
                          insecure=endpoint.get("insecure", False), timeout=timeout, speed_kb=speed_kb,
                          ca_certificate=endpoint.get("ca_certificate", ""))


def remote_repository(endpoint: dict, repository: str) -> str:
    """Docker Hub's rule: an official image is `library/<name>`."""
    if endpoint["type"] == DOCKER_HUB and "/" not in repository:
        return f"library/{repository}"
    return repository


def ensure_project(registry, endpoint: dict, project: str, log: list[str]) -> None:
    """A Harbor endpoint keeps repositories in projects: create the destination project
    (private) when it is missing. Other kinds need nothing."""
    if endpoint["type"] != "harbor":
        return
    try:
        with http_for(registry, endpoint) as http:
            found = http.head("/api/v2.0/projects", params={"project_name": project})
            if found.status_code == 200:
                return
            created = http.post("/api/v2.0/projects", json={"project_name": project,
                                                              "metadata": {"public": "false"}})
    except httpx.HTTPError as error:
        raise Unreachable(f"{endpoint['url']}: {type(error).__name__}") from None
    if created.status_code in (201, 409):
        if created.status_code == 201:
            log.append(f"created the project {project} on {endpoint['name']}")
        return
    if created.status_code in (401, 403):
        raise Unauthorized(f"{endpoint['name']} refused to create the project {project} "
                           f"(HTTP {created.status_code}): the credentials need project creation rights")
    raise ReplicationError(f"{endpoint['name']} refused to create the project {project} "
                           f"(HTTP {created.status_code})")


def http_for(registry, endpoint: dict, timeout: float = 30.0) -> httpx.Client:
    """A client for a Harbor (or Tidemark) endpoint's REST API, with its credentials."""
    auth = (endpoint.get("access_key", ""), registry.replication.secret(endpoint)) if endpoint.get("access_key") else None
    verify = ssl_context(endpoint.get("insecure", False), endpoint.get("ca_certificate", ""))
    return httpx.Client(base_url=endpoint["url"], auth=auth, verify=verify, timeout=timeout)


def harbor_labels(registry, endpoint: dict, repository: str) -> dict[str, list[str]]:
    """Tag -> the label names of the artifact it names, from a Harbor endpoint's REST API."""
    project, _, rest = repository.partition("/")
    path = (f"/api/v2.0/projects/{quote(project, safe='')}/repositories/"
            f"{quote(quote(rest, safe=''), safe='')}/artifacts")
    found: dict[str, list[str]] = {}
    try:
        with http_for(registry, endpoint) as http:
            for page in range(1, 1000):
                answer = http.get(path, params={"with_label": "true", "with_tag": "true", "page": page,
                                                "page_size": 100})
                if answer.status_code in (401, 403):
                    raise Unauthorized(f"{endpoint['name']} refused the artifact list of {repository} "
                                       f"(HTTP {answer.status_code})")
                if answer.status_code != 200:
                    raise ReplicationError(f"{endpoint['name']} answered the artifact list of {repository} "
                                           f"with HTTP {answer.status_code}")
                artifacts = answer.json() or []
                for artifact in artifacts:
                    names = [label["name"] for label in artifact.get("labels") or []]
                    for tag in artifact.get("tags") or []:
                        found[tag["name"]] = names
                if len(artifacts) < 100:
                    break
    except httpx.HTTPError as error:
        raise Unreachable(f"{endpoint['url']}: {type(error).__name__}") from None
    return found
