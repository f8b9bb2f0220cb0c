"""Generating the event log straight through the application (no HTTP)."""
from __future__ import annotations

import hashlib
import math
import random
import time
from typing import Any, Callable

from bench.history_parts.common import HOT_REPO, HOT_TAG, PROJECT, say


def digest_of(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class RepoState:
    __slots__ = ("name", "m1", "m2", "m3", "m1_aggregate", "latest", "stable")

    def __init__(self, name: str) -> None:
        self.name = name
        self.m1 = digest_of(name, "m1")
        self.m2 = digest_of(name, "m2")
        self.m3 = digest_of(name, "m3")


class LogWriter:
    """Saves aggregates `batch` at a time (one atomic append per `app.save`), and moves the
    hot tag whenever the log crosses the next point of its schedule."""

    def __init__(self, app: Any, batch: int, on_flush: Callable[[], None]) -> None:
        self.app = app
        self.batch = batch
        self.pending: list = []
        self.written = 0
        self.saves = 0
        self.on_flush = on_flush

    def add(self, aggregate: Any) -> None:
        self.pending.append(aggregate)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            recordings = self.app.save(*self.pending)
            self.written += len(recordings)
            self.saves += 1
            self.pending = []
        self.on_flush()


def generate(registry: Any, repos: int, target: int, hot_moves: int, batch: int,
             seed: int) -> dict:
    """Write the log; return what the measurements need (positions, names)."""
    from domain.base import Actor
    from domain.artifacts.blob_link import BlobLink
    from domain.artifacts.manifest import Manifest
    from domain.artifacts.manifest_format import OCI_MANIFEST, ParsedManifest
    from domain.artifacts.tag import Tag

    app = registry.app
    requests = iter(range(1, 1 << 62))

    def actor() -> Actor:
        # One request per change, as through the API: events of one request id are read as one
        # save (the webhook dispatcher scans a push's request for its tags), so a single id for
        # the whole log would make every push scan the rest of the log.
        return Actor(name="bench", client_ip="127.0.0.1", request_id=f"history-bench-{next(requests)}")
    config_type = "application/vnd.oci.image.config.v1+json"
    head0 = app.head()

    def parsed(config: str, layer: str) -> ParsedManifest:
        return ParsedManifest(media_type=OCI_MANIFEST, artifact_type=config_type,
                              blobs=[config, layer], foreign_blobs=[], manifests=[], subject=None,
                              annotations={"org.opencontainers.image.title": "bench"},
                              blob_bytes=1_234 + 5_678)

    def push(writer: LogWriter, state: RepoState, which: str) -> Any:
        config = digest_of(state.name, "config")
        layer = digest_of(state.name, "layer", which)
        writer.add(BlobLink.create(state.name, layer, 5_678, None, actor(), generation=1))
        manifest = Manifest.push(state.name, getattr(state, which), 512, parsed(config, layer), actor(), generation=1)
        writer.add(manifest)
        return manifest

    hot = RepoState(HOT_REPO)
    hot_state = {"done": 0, "next": 0}
    interval = max(1, (target - head0) // (hot_moves + 1))
    writer: LogWriter

    def on_flush() -> None:
        # At most one hot move per batch, so one save never carries the hot tag twice.
        if hot_state["done"] < hot_moves and writer.written >= hot_state["next"]:
            hot_state["done"] += 1
            hot_state["next"] += interval
            hot.latest.point_at(hot.m2 if hot.latest.digest == hot.m1 else hot.m1, actor())
            writer.pending.append(hot.latest)

    writer = LogWriter(app, batch, lambda: None)
    states = [RepoState(f"{PROJECT}/app-{i:05d}") for i in range(repos)]
    started = time.perf_counter()

    # The hot repository first: its tag is then moved all along the log.
    for state in [hot, *states]:
        writer.add(BlobLink.create(state.name, digest_of(state.name, "config"), 1_234, None, actor(), generation=1))
        state.m1_aggregate = push(writer, state, "m1")
        push(writer, state, "m2")
        state.latest = Tag.create(state.name, "latest" if state is not hot else HOT_TAG, state.m1, actor(), generation=1)
        state.stable = Tag.create(state.name, "stable", state.m2, actor(), generation=1)
        writer.add(state.latest)
        writer.add(state.stable)
        if state is hot:
            writer.flush()
            hot_state["next"] = writer.written + interval
            writer.on_flush = on_flush
    writer.flush()
    setup_events = writer.written

    # still to come besides the moves: m3 pushes (link + manifest), m1 deletes, hot moves
    fixed = 3 * repos + (hot_moves - hot_state["done"])
    rounds = max(4, math.ceil((target - head0 - writer.written - fixed) / repos))
    mid, delete_round, past_round = rounds // 2, (3 * rounds) // 4, (2 * rounds) // 5
    past_position = None
    for r in range(rounds):
        if r == mid:  # a third manifest everywhere; `latest` moves to it this round
            for state in states:
                push(writer, state, "m3")
        if r == delete_round:  # the first manifest goes (no tag points at it any more)
            for state in states:
                state.m1_aggregate.delete(actor())
                writer.add(state.m1_aggregate)
        for state in states:
            if r < mid:
                digest = state.m2 if r % 2 == 0 else state.m1
            else:
                digest = state.m3 if (r - mid) % 2 == 0 else state.m2
            state.latest.point_at(digest, actor())
            writer.add(state.latest)
        writer.flush()
        if r == past_round:
            past_position = app.head()
        if r % 10 == 0 or r == rounds - 1:
            elapsed = time.perf_counter() - started
            say(f"  round {r + 1}/{rounds}: {writer.written:,} events, "
                f"{writer.written / elapsed:,.0f} events/s")
    extra_rounds = 0
    while app.head() < target:  # top up (moves between m2 and m3)
        for state in states:
            state.latest.point_at(state.m2 if state.latest.digest == state.m3 else state.m3, actor())
            writer.add(state.latest)
        writer.flush()
        extra_rounds += 1
    while hot_state["done"] < hot_moves:  # finish the hot tag's schedule
        hot_state["next"] = 0
        writer.flush()
    writer.on_flush = lambda: None
    writer.flush()
    seconds = time.perf_counter() - started
    head = app.head()
    rng = random.Random(seed)
    return {
        "head": head,
        "events_written": writer.written,
        "events_before": head0,
        "setup_events": setup_events,
        "saves": writer.saves,
        "aggregates_per_save": batch,
        "rounds": rounds + extra_rounds,
        "seconds": round(seconds, 2),
        "events_per_s": round(writer.written / seconds),
        "repositories": repos + 1,
        "hot_repository": HOT_REPO,
        "hot_tag": HOT_TAG,
        "hot_moves": hot_state["done"],
        "past_position": past_position,
        "m3_pushed_in_round": mid,
        "m1_deleted_in_round": delete_round,
        "sample_repositories": [s.name for s in rng.sample(states, min(20, len(states)))],
        "expect_now": ["m3", "m2"],
        "expect_past": ["m2", "m1"],
    }
