"""The log of webhook deliveries, kept apart from the registry's own log.

Every attempt at every delivery is an event, and one push can fan out to
hundreds of deliveries. In the registry's log those events would outnumber
everything else and every follower (the OCI views, audit, hash chain, feed,
Kafka relay) would have to read past them; here only the job status view
follows them. Policies stay in the registry's log: they are registry state
that the audit trail, the feed and time travel should see.
"""

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper

from infra.store.event_codec import MsgspecMapper


class WebhookDeliveryLog(Application):
    name = "tidemark_webhooks"  # on PostgreSQL: table tidemark_webhooks_events

    def construct_mapper(self) -> Mapper:
        return MsgspecMapper()

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0
