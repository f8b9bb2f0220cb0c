from commands.application import RegistryApplication
from domain.base import Actor
from domain.artifacts.tag import Tag
from infra.store.event_codec import MsgspecMapper


def test_events_round_trip_through_the_codec():
    tag = Tag.create("library/app", "v1", "sha256:" + "a" * 64, Actor(name="bob"), generation=1)
    tag.point_at("sha256:" + "b" * 64, Actor(name="bob"))
    mapper = MsgspecMapper()
    for event in tag.collect_events():
        restored = mapper.to_domain_event(mapper.to_stored_event(event))
        assert vars(restored) == vars(event)


def test_secrets_free_stored_form_is_plain_json():
    tag = Tag.create("library/app", "v1", "sha256:" + "a" * 64, Actor(name="bob"), generation=1)
    stored = MsgspecMapper().to_stored_event(tag.collect_events()[0])
    assert stored.state.startswith(b"{") and b'"repository":"library/app"' in stored.state


def test_old_tag_removed_events_are_upcast_with_no_cause():
    from eventsourcing.persistence import StoredEvent

    from domain.artifacts.tag import Tag

    stored = StoredEvent(
        originator_id=__import__("uuid").uuid4(), originator_version=2, topic="domain.artifacts.tag:Tag.Removed",
        state=b'{"timestamp":"2026-01-01T00:00:00+00:00","actor":"a","client_ip":"","request_id":"",'
              b'"repository":"library/app","tag":"v1","previous_digest":"sha256:00"}')
    event = MsgspecMapper().to_domain_event(stored)
    assert isinstance(event, Tag.Removed) and event.cause is None
