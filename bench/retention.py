"""Tag retention at scale: a dry run over one repository holding 10,000 tagged artifacts.

Standalone: builds a registry in a scratch directory (SQLite, or PostgreSQL with
--database-url), writes the artifacts straight through the application (blob links,
manifests and tags saved in batches, no HTTP), catches up the query models, creates a
policy through its command (keep the 10 most recently pushed, plus `v*` tags pushed in the
last 7 days) and times a dry run through the same runner the API uses, phase by phase:
loading the candidates, evaluating, and recording the task (one event). With --real it
then times a real run too (every deletion is a command with its own save).

    /work/venv/bin/python bench/retention.py                 # 10,000 tags, SQLite
    /work/venv/bin/python bench/retention.py --tags 2000 --real
    /work/venv/bin/python bench/retention.py --database-url postgresql://...

Target: the dry run over 10,000 tags in under 10 s.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REPOSITORY = "library/app"
TARGET_SECONDS = 10.0


def digest_of(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def populate(registry, count: int, batch: int = 500) -> float:
    """Write `count` manifests, each with its own tag; return the seconds it took."""
    from domain.base import Actor
    from domain.artifacts.blob_link import BlobLink
    from domain.artifacts.manifest import Manifest
    from domain.artifacts.manifest_format import OCI_MANIFEST, ParsedManifest
    from domain.artifacts.tag import Tag

    actor = Actor(name="bench", request_id="retention-bench")
    config, layer = digest_of("config"), digest_of("layer")
    parsed = ParsedManifest(media_type=OCI_MANIFEST, artifact_type=None, blobs=[config, layer],
                            foreign_blobs=[], manifests=[], subject=None, annotations={}, blob_bytes=2048)
    started = time.perf_counter()
    registry.app.save(BlobLink.create(REPOSITORY, config, 1024, None, actor, generation=1),
                      BlobLink.create(REPOSITORY, layer, 1024, None, actor, generation=1))
    pending = []
    for index in range(count):
        digest = digest_of("manifest", str(index))
        name = f"v{index // 100}.{index % 100}" if index % 2 else f"build-{index:05d}"
        pending += [Manifest.push(REPOSITORY, digest, 512, parsed, actor, generation=1), Tag.create(REPOSITORY, name, digest, actor, generation=1)]
        if len(pending) >= batch:
            registry.app.save(*pending)
            pending = []
    if pending:
        registry.app.save(*pending)
    return time.perf_counter() - started


def make_policy(registry):
    from commands.retention_handlers import CreateRetentionPolicy
    from domain.base import Actor
    from domain.retention.policy import PolicySpec, RetentionRule
    from domain.selectors import Selector

    project = registry.queries.project_by_key("library", True)
    everything = [Selector("doublestar", "repoMatches", "**")]
    rules = [RetentionRule(0, "latestPushedK", {"latestPushedK": 10}, [Selector("doublestar", "matches", "**")],
                           everything),
             RetentionRule(0, "nDaysSinceLastPush", {"nDaysSinceLastPush": 7},
                           [Selector("regex", "matches", r"v\d+\.\d+")], everything)]
    registry.retention_commands.create_policy(CreateRetentionPolicy(
        project.name, project.project_id, PolicySpec(rules, "Manual"), Actor(name="bench")))
    registry.catch_up()
    return registry.retention.policy_of("library")


def phases(registry, policy) -> dict[str, float]:
    """Time the parts of one repository's evaluation, as the runner does them."""
    import msgspec

    from domain.retention.policy import PolicySpec

    runner = registry.retention_runner
    spec = msgspec.convert(policy.policy, PolicySpec)
    started = time.perf_counter()
    rows, _ = registry.history.artifacts(REPOSITORY, 0, 1 << 40, None)
    tags = registry.history.tags(REPOSITORY, None, None)
    loaded = time.perf_counter()
    verdicts, _ = runner.evaluate(spec, REPOSITORY, None, time.time(), [])
    evaluated = time.perf_counter()
    return {"query artifacts + tags": loaded - started, "load + evaluate (runner)": evaluated - loaded,
            "artifacts": len(rows), "tags": len(tags), "would delete": sum(v.action == "delete" for v in verdicts)}


def timed_run(registry, policy, dry_run: bool) -> tuple[float, object]:
    from domain.base import Actor

    started = time.perf_counter()
    execution_id = registry.retention_runner.start(policy, dry_run, "MANUAL", Actor(name="bench"), background=False)
    seconds = time.perf_counter() - started
    registry.catch_up()
    return seconds, registry.retention.run(execution_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (an empty scratch database)")
    parser.add_argument("--real", action="store_true", help="also time a real run (deletes)")
    args = parser.parse_args()

    from infra.http.logging import configure_logging
    from infra.wiring.registry import build_registry
    from infra.settings import Settings

    configure_logging("json", "warning")
    scratch = Path(tempfile.mkdtemp(prefix="tidemark-retention-bench-"))
    values = {"data_dir": str(scratch / "data"), "admin_password": "Bench-Passw0rd"}
    if args.database_url:
        values["database_url"] = args.database_url
    registry = build_registry(Settings(**values))
    try:
        registry.start(follow=False)
        write_seconds = populate(registry, args.tags)
        started = time.perf_counter()
        registry.catch_up()
        catch_up_seconds = time.perf_counter() - started
        policy = make_policy(registry)
        figures = phases(registry, policy)
        dry_seconds, dry = timed_run(registry, policy, dry_run=True)
        backend = "postgresql" if args.database_url else "sqlite"
        print(f"tag retention benchmark ({backend}, {args.tags} tags in {REPOSITORY})")
        print(f"  write the log (no HTTP)         {write_seconds:8.2f} s")
        print(f"  catch up the query models       {catch_up_seconds:8.2f} s")
        for name, value in figures.items():
            print(f"  {name:<32}{value:8.3f} s" if isinstance(value, float) else f"  {name:<32}{value:8d}")
        print(f"  DRY RUN (start to end, runner)  {dry_seconds:8.2f} s   target < {TARGET_SECONDS:.0f} s: "
              f"{'met' if dry_seconds < TARGET_SECONDS else 'MISSED'}")
        print(f"    status {dry.status}, total {dry.total}, retained {dry.retained}, would delete {dry.deleted}")
        if args.real:
            real_seconds, real = timed_run(registry, policy, dry_run=False)
            print(f"  REAL RUN                        {real_seconds:8.2f} s   "
                  f"({real.deleted} deletions, {real_seconds / max(real.deleted, 1) * 1000:.1f} ms each)")
            print(f"    status {real.status}, total {real.total}, retained {real.retained}, deleted {real.deleted}")
        return 0 if dry_seconds < TARGET_SECONDS else 1
    finally:
        registry.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
