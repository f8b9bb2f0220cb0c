"""The public types: an undelete and a restore have their own, old events keep theirs, and the
docs list every type."""

import re
from pathlib import Path

from infra.messaging.public_events import REFINED, TYPES, public_type

REPUSHED = "domain.artifacts.manifest:Manifest.Repushed"
MOVED = "domain.artifacts.tag:Tag.Moved"


def test_an_undelete_and_a_restore_are_told_apart_from_a_push_and_a_move():
    assert public_type(REPUSHED, {"undeleted": True}) == "io.tidemark.artifact.undeleted.v1"
    assert public_type(REPUSHED, {"undeleted": False}) == "io.tidemark.artifact.pushed.v1"
    assert public_type(MOVED, {"restored_from": 12}) == "io.tidemark.tag.restored.v1"
    assert public_type(MOVED, {"restored_from": 0}) == "io.tidemark.tag.restored.v1"  # the empty registry
    assert public_type(MOVED, {"restored_from": None}) == "io.tidemark.tag.moved.v1"


def test_events_stored_before_the_fields_existed_keep_their_types():
    assert public_type(REPUSHED, {"digest": "sha256:" + "a" * 64}) == "io.tidemark.artifact.pushed.v1"
    assert public_type(MOVED, {"tag": "v1", "pushed": False}) == "io.tidemark.tag.moved.v1"


def test_the_docs_list_every_public_type():
    text = (Path(__file__).parents[2] / "docs" / "public-events.md").read_text()
    listed = set(re.findall(r"`(io\.tidemark\.[a-z_.]+\.v\d+)`", text))
    every = set(TYPES.values()) | {kind for _, kind in REFINED.values()}
    assert every - listed == set()
    assert listed - every == set()
