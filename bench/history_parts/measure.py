"""The figures measured through HTTP: artifact lists now and in the past, tag history, event feed."""
from __future__ import annotations

import json
import statistics
import time

from bench.history_parts.common import HOT_REPO, HOT_TAG, PROJECT
from bench.history_parts.eventlog import digest_of
from bench.history_parts.load import Phase
from bench.history_parts.server import Client


def latency_summary(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2), "p90_ms": round(pick(0.9), 2),
            "p99_ms": round(pick(0.99), 2), "min_ms": round(ms[0], 2), "max_ms": round(ms[-1], 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def artifacts_path(repository: str, position: int | None) -> str:
    name = repository.split("/", 1)[1].replace("/", "%252F")
    path = f"/api/v2.0/projects/{PROJECT}/repositories/{name}/artifacts?page=1&page_size=10&with_tag=true"
    return path + (f"&at={position}" if position is not None else "")


def measure_artifacts(client: Client, log: dict, requests: int, server_pid: int) -> dict:
    repos = log["sample_repositories"]
    past = log["past_position"]
    check = {}
    for label, position, expect in (("now", None, log["expect_now"]), ("past", past, log["expect_past"])):
        repo = repos[0]
        _, status, _, body = client.get(artifacts_path(repo, position))
        if status != 200:
            raise RuntimeError(f"artifact list {label}: HTTP {status}: {body[:300]!r}")
        items = json.loads(body)
        want = [digest_of(repo, m) for m in expect]
        check[label] = {"digests_as_expected": [i["digest"] for i in items] == want,
                        "artifacts": len(items), "tags": sum(len(i.get("tags") or []) for i in items)}
    for i in range(20):  # warm-up
        client.get(artifacts_path(repos[i % len(repos)], None))
        client.get(artifacts_path(repos[i % len(repos)], past))
    now: list[float] = []
    then: list[float] = []
    with Phase("artifacts", server_pid) as phase:
        for i in range(requests):
            repo = repos[i % len(repos)]
            order = ((now, None), (then, past)) if i % 2 == 0 else ((then, past), (now, None))
            for samples, position in order:
                seconds, status, _, body = client.get(artifacts_path(repo, position))
                if status != 200:
                    raise RuntimeError(f"artifact list: HTTP {status}: {body[:300]!r}")
                samples.append(seconds)
    now_s, past_s = latency_summary(now), latency_summary(then)
    return {"past_position": past, "now": now_s, "past": past_s,
            "past_over_now": round(past_s["median_ms"] / now_s["median_ms"], 2),
            "check": check, "load": phase.as_dict()}


def measure_tag_history(client: Client, requests: int, server_pid: int) -> dict:
    name = HOT_REPO.split("/", 1)[1]
    path = f"/api/v2.0/projects/{PROJECT}/repositories/{name}/tags/{HOT_TAG}/history"
    _, status, _, body = client.get(path)
    if status != 200:
        raise RuntimeError(f"tag history: HTTP {status}: {body[:300]!r}")
    entries = json.loads(body)
    for _ in range(10):
        client.get(path)
    samples = []
    with Phase("tag_history", server_pid) as phase:
        for _ in range(requests):
            seconds, status, _, _ = client.get(path)
            samples.append(seconds)
    return {"entries": len(entries), "response_bytes": len(body), **latency_summary(samples),
            "load": phase.as_dict()}


def measure_feed(client: Client, limit: int, head: int, server_pid: int, time_limit: float) -> dict:
    import msgspec

    decoder = msgspec.json.Decoder(list)
    path = f"/api/v2.0/events?after=0&limit={limit}"
    events = pages = nbytes = 0
    last_position = 0
    page_seconds: list[float] = []
    timed_out = False
    with Phase("feed", server_pid) as phase:
        while path:
            seconds, status, headers, body = client.get(path)
            if status != 200:
                raise RuntimeError(f"event feed: HTTP {status}: {body[:300]!r}")
            batch = decoder.decode(body)  # the subscriber parses every page
            pages += 1
            events += len(batch)
            nbytes += len(body)
            page_seconds.append(seconds)
            if batch:
                last_position = batch[-1]["position"]
            link = headers.get("Link")
            path = link.split(">", 1)[0].lstrip("<") if link else ""
            if phase_elapsed(phase) > time_limit:
                timed_out = True
                break
    wall = phase.wall
    return {"limit": limit, "pages": pages, "events": events, "bytes": nbytes,
            "last_position": last_position, "head": head, "seconds": round(wall, 2),
            "events_per_s": round(events / wall), "mb_per_s": round(nbytes / wall / 1e6, 1),
            "page": latency_summary(page_seconds), "timed_out": timed_out, "load": phase.as_dict()}


def phase_elapsed(phase: Phase) -> float:
    return time.perf_counter() - phase._t0
