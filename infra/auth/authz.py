"""The one authorization seam every OCI and REST route passes through.

`OpenAuthorizer` lets everyone do everything (the state before identity and
access arrive); the token-based authorizer replaces it without touching routes.
"""

from typing import Protocol

from domain.base import Actor


class Authorizer(Protocol):
    async def authorize(self, request, repository: str | None, actions: set[str],
                        mount_from: str | None = None) -> Actor:
        """The caller as an Actor, if allowed; raise Unauthorized or Denied otherwise.

        Actions: pull, push, delete on a repository; catalog with no repository.
        `mount_from`: the source of a cross-repository mount (its pull is asked for too).
        """

    async def may_pull(self, request, repository: str) -> bool:
        """May the caller read this repository (the source of a cross-repository mount)?"""

    async def catalog_projects(self, request) -> set[str] | None:
        """Projects whose repositories the caller may list, or None for every project."""


class OpenAuthorizer:
    """Anonymous access with every right."""

    async def authorize(self, request, repository: str | None, actions: set[str],
                        mount_from: str | None = None) -> Actor:
        return Actor(name="anonymous", client_ip=request.client_ip, request_id=request.request_id)

    async def may_pull(self, request, repository: str) -> bool:
        return True

    async def catalog_projects(self, request) -> set[str] | None:
        return None
