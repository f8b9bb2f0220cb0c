"""The event feed for outside subscribers: pages of CloudEvents, and a
Server-Sent Events stream that resumes from `Last-Event-ID` without gaps."""

import asyncio
import time
from typing import AsyncIterator

import anyio.to_thread
import msgspec
from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import ServerSentEvent, ServerSentEventMessage

from domain.iam.access import Principal, allows, sees_project
from domain.history_window import Window, window_for
from domain.errors import BadRequest
from domain.input_limits import parse_position
from infra.messaging.public_events import cloud_event
from infra.http.rest import caller

PAGE = 1000
_encoder = msgspec.json.Encoder()


# Webhook policy events name their targets, and for Slack the URL is the secret: they are
# shown only to those who may read the project's webhook policies (Harbor's `webhook`
# read: maintainers and up, system administrators). Others get no such event at all
# rather than one with parts removed: a policy's name, event types and existence are
# not theirs to see either, and a field added later cannot slip through a redaction.
POLICY_EVENTS = "io.tidemark.webhook."


class FeedFilter:
    """Which events a caller may see, narrowed by type and project: events of projects it may
    see, inside its window on each one's history (domain/history_window.py): nothing of a
    deleted project of the same name, nothing of a private period of a project it sees only
    because it is public now. System administrators see every event."""

    REFRESH_SECONDS = 1.0  # how stale a long stream's idea of the projects may be

    def __init__(self, principal: Principal, registry, types: set[str] | None, project: str | None) -> None:
        self.principal = principal
        self.registry = registry
        self.types = types
        self.project = project
        self._loaded = -self.REFRESH_SECONDS

    def refresh(self) -> None:
        """Read the projects (their visibility and when they were created) again, if stale."""
        if time.monotonic() - self._loaded < self.REFRESH_SECONDS:
            return
        self.projects = {name: (public, since) for name, public, since in self.registry.queries.project_starts()}
        self._windows: dict[str, Window] = {}
        self._loaded = time.monotonic()

    def _window(self, project: str, public: bool, since: int) -> Window:
        if project not in self._windows:
            periods = self.registry.project_periods
            self._windows[project] = window_for(self.principal, project, public, since,
                                                lambda: periods.public_since(project, since))
        return self._windows[project]

    def visible(self, event: dict) -> bool:
        if self.types and event["type"] not in self.types:
            return False
        project = event["project"]
        if self.project and project != self.project:
            return False
        if self.principal.kind == "user" and self.principal.sysadmin:
            return True
        if project is None or project not in self.projects:
            return False
        public, since = self.projects[project]
        if event["type"].startswith(POLICY_EVENTS) and not allows(self.principal, project, public,
                                                                   "webhook", "read"):
            return False  # a webhook's targets and even its existence: for webhook readers only
        return sees_project(self.principal, project, public) and \
            self._window(project, public, since).covers(event["position"])


def read_page(registry, after: int, limit: int, feed: FeedFilter) -> tuple[list[dict], int]:
    """Up to `limit` visible events after a position, and the position scanned up to."""
    events: list[dict] = []
    position = after
    feed.refresh()
    while len(events) < limit:
        notifications = registry.app.recorder.select_notifications(start=position + 1, limit=PAGE)
        if not notifications:
            break
        for notification in notifications:
            position = notification.id
            event = cloud_event(notification)
            if event is not None and feed.visible(event):
                events.append(event)
                if len(events) == limit:
                    break
        if len(notifications) < PAGE:
            break
    return events, position


async def _feed(request: Request, type_: str | None, project: str | None) -> tuple:
    who = await caller(request)
    types = set(type_.split(",")) if type_ else None
    return who, FeedFilter(who.principal, who.registry, types, project)


def _position(value: str | None, name: str) -> int:
    return parse_position(value, name) or 0


@get("/api/v2.0/events")
async def list_events(request: Request, after: FromQuery[str | None] = None,
                      limit: FromQuery[int] = 100, type: FromQuery[str | None] = None,
                      project: FromQuery[str | None] = None) -> Response:
    """Public events after a position, in log order; `Link` names the next page."""
    if not 1 <= limit <= 10_000:
        raise BadRequest("limit must be between 1 and 10000", {"field": "limit"})
    start = _position(after, "after")
    who, feed = await _feed(request, type, project)
    events, scanned = await anyio.to_thread.run_sync(read_page, who.registry, start, limit, feed)
    headers = {"Tidemark-Position": str(scanned)}
    if len(events) == limit:
        headers["Link"] = f'</api/v2.0/events?after={scanned}&limit={limit}>; rel="next"'
    return Response(_encoder.encode(events), media_type="application/cloudevents-batch+json",
                    headers=headers)


@get("/api/v2.0/events/stream")
async def stream_events(request: Request, after: FromQuery[str | None] = None,
                        type: FromQuery[str | None] = None,
                        project: FromQuery[str | None] = None, named: FromQuery[bool] = True) -> ServerSentEvent:
    """Server-Sent Events; each message's id is the event position, so a reconnect with
    `Last-Event-ID` resumes right after the last event received. `after=now` starts at the
    head of the log (only what happens from now on); `named=false` sends messages without
    an `event:` name, so that a browser's `EventSource.onmessage` sees every type."""
    resume = request.headers.get("last-event-id")
    if resume:
        start = _position(resume, "Last-Event-ID")
    elif after == "now":
        start = await anyio.to_thread.run_sync(request.app.state.registry.app.head)
    else:
        start = _position(after, "after")
    who, feed = await _feed(request, type, project)

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        position = start
        idle = 0
        while True:
            events, position = await anyio.to_thread.run_sync(read_page, who.registry, position, PAGE, feed)
            for event in events:
                yield ServerSentEventMessage(data=_encoder.encode(event).decode(),
                                             event=event["type"] if named else None,
                                             id=str(event["position"]))
            if not events:
                idle += 1
                if idle % 50 == 0:
                    yield ServerSentEventMessage(comment="keep-alive")
                await asyncio.sleep(0.2)
            else:
                idle = 0

    return ServerSentEvent(messages())
