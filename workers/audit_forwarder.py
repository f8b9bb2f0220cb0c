"""Forwards audit entries to a syslog endpoint (Harbor's `audit_log_forward_endpoint`), at
least once, in log order.

A log follower with its own tracked position (`projection_positions`, name
`audit_forward`): it reads the events after its position, turns them into the audit
entries the audit view would store (projections/audit/view.audit_rows), leaves out the
event types `disabled_audit_log_event_types` names, sends the batch, and only then moves its
position. It shares the Kafka relay's following, backoff, lease and status machinery: while
the receiver is away it retries with backoff from the same position, and when it is back
everything since arrives, in order (part of a batch may arrive twice).

The endpoint and the disabled types are read for every batch through `settings` (a
callable given at wiring), so a change takes effect at the next batch. While no endpoint is
set the follower moves on without sending: setting one later forwards what happens from
then, not the whole history. The disabled types filter forwarding only; the audit view
keeps every entry.
"""

import socket
from typing import Any, Callable

import msgspec

from infra.messaging.syslog_client import SyslogSender, syslog_line
from infra.store.sql import Database
from projections.audit.queries import stored_entry
from projections.audit.view import audit_rows
from workers.kafka_relay import KafkaRelay

NAME = "audit_forward"


class ForwardSettings(msgspec.Struct, frozen=True):
    endpoint: str = ""  # host:port (TCP), tcp://host:port or udp://host:port; empty: off
    disabled_event_types: frozenset[str] = frozenset()


def disabled_types(text: str) -> frozenset[str]:
    """Harbor's comma-separated `disabled_audit_log_event_types`."""
    return frozenset(t.strip().lower() for t in (text or "").split(",") if t.strip())


class AuditForwarder(KafkaRelay):
    label = "audit log forwarder"

    def __init__(self, app: Any, db: Database, settings: Callable[[], ForwardSettings], *,
                 lease: Any = None, hostname: str | None = None, **options: Any) -> None:
        options.setdefault("start_at_head", True)
        options.setdefault("batch", 1000)
        super().__init__(app, db, lambda: None, "", lease=lease, name=NAME, **options)
        self.settings = settings
        self.hostname = hostname or socket.gethostname()

    @property
    def topic(self) -> str:  # what the status board and log show as the destination
        return getattr(self, "_endpoint", "") or "(no endpoint)"

    @topic.setter
    def topic(self, value: str) -> None:
        pass

    def deliver(self, until: int | None = None) -> int:
        """Forward what came after the position; with no endpoint set, move the position on
        without sending (and without claiming the lease or a row in the health report)."""
        if self.settings().endpoint:
            return super().deliver(until)
        with self._lock:
            self._close_producer(timeout=0)
            reached = until if until is not None else self.app.head()
            with self.db.write() as w:
                w.execute("UPDATE projection_positions SET position = ? WHERE name = ? AND position < ?",
                          (reached, self.name, reached))
            return self.position()

    def _publish(self, notifications: list) -> None:
        """Send the audit entries of one batch; raise (position unmoved) if not sent."""
        current = self.settings()
        self._endpoint = current.endpoint
        if not current.endpoint:
            self._close_producer(timeout=0)
            return
        if self._producer is None or self._producer.endpoint != current.endpoint:
            self._close_producer(timeout=0)
            self._producer = SyslogSender(current.endpoint)
        lines = []
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            for row in audit_rows(event, notification.id):
                entry = stored_entry(row)
                if entry["event_type"] not in current.disabled_event_types:
                    lines.append(syslog_line(entry, self.hostname))
        if lines:
            self.published += self._producer.send(lines)

    def _close_producer(self, timeout: float) -> None:
        sender, self._producer = self._producer, None
        if sender is not None:
            sender.close()


def forwarder_from_settings(app: Any, db: Database, settings: Any,
                            forward: Callable[[], ForwardSettings] | None = None,
                            **options: Any) -> AuditForwarder:
    """The forwarder; `forward` gives the endpoint and disabled types (by default from
    TIDEMARK_AUDIT_LOG_FORWARD_ENDPOINT and TIDEMARK_AUDIT_LOG_DISABLED_EVENT_TYPES)."""
    from workers.relay_lease import relay_lease_for

    if forward is None:
        fixed = ForwardSettings(settings.audit_log_forward_endpoint,
                                disabled_types(settings.audit_log_disabled_event_types))
        forward = lambda: fixed  # noqa: E731
    return AuditForwarder(app, db, forward, lease=relay_lease_for(settings, NAME), **options)
