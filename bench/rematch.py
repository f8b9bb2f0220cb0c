"""Re-matching stored inventories after an import: 1,000 scanned images, 1,000 new records,
in at most 10 s.

In process, on real files: an inventory store of --images images (each --packages PyPI,
npm and Debian packages drawn from a shared pool, as images share base layers), a
vulnerability database of --base records, then an import of --new records, half of which
hit a version some image holds. It times the re-match (what `tidemark vulndb import` runs)
and, side by side, the alternative it saves: matching every stored image again against the
whole database, and prints the ratio.

    .venv/bin/python bench/rematch.py                       # ~30 s
    .venv/bin/python bench/rematch.py --images 2000 --new 5000
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from domain.scanning.inventory import OperatingSystem, Package  # noqa: E402
from domain.scanning.matching import match  # noqa: E402
from infra.scanner.inventories import InventoryStore  # noqa: E402
from infra.scanner.rematch import rematch  # noqa: E402
from infra.scanner.vulndb import VulnDb  # noqa: E402

TARGET_SECONDS = 10.0
ECOSYSTEMS = (("PyPI", "python"), ("npm", "npm"), ("Debian:12", "deb"))


def pool(size: int, rng: random.Random) -> list[Package]:
    packages = []
    for i in range(size):
        ecosystem, kind = ECOSYSTEMS[i % 3]
        version = f"1.{rng.randint(0, 9)}.{rng.randint(0, 9)}" if kind != "deb" else f"1.{rng.randint(0, 9)}-1"
        packages.append(Package(ecosystem=ecosystem, name=f"pkg{i}", version=version, kind=kind,
                                path="bench", purl=f"pkg:generic/pkg{i}@{version}"))
    return packages


def record(record_id: str, package: Package, hits: bool) -> dict:
    major, minor = package.version.split(".")[0], package.version.split(".")[1].split("-")[0]
    fixed = f"{major}.{int(minor) + 1}.0" if hits else "0.0.1"
    if package.kind == "deb":
        fixed = f"{major}.{int(minor) + 1}-1" if hits else "0.1-1"
    return {"id": record_id, "modified": "2026-11-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": package.ecosystem, "name": package.name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
            "database_specific": {"severity": "HIGH"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--packages", type=int, default=300, help="packages per image")
    parser.add_argument("--pool", type=int, default=20000, help="distinct packages across images")
    parser.add_argument("--base", type=int, default=20000, help="records before the import")
    parser.add_argument("--new", type=int, default=1000, help="records the timed import adds")
    args = parser.parse_args()
    rng = random.Random(7)
    packages = pool(args.pool, rng)
    with tempfile.TemporaryDirectory(prefix="bench-rematch-") as scratch:
        database = VulnDb(Path(scratch) / "vulndb.sqlite")
        store = InventoryStore(Path(scratch) / "inventories.sqlite")
        base = [(f"base{i}", record(f"BENCH-BASE-{i}", rng.choice(packages), rng.random() < 0.5))
                for i in range(args.base)]
        database.import_records(base, "bench base")
        started = time.perf_counter()
        images = {}
        for i in range(args.images):
            chosen = rng.sample(packages, args.packages)
            digest = f"sha256:{i:064x}"
            images[digest] = chosen
            store.remember("http://bench", "bench/app", digest, OperatingSystem(), chosen,
                           match(chosen, database.lookup), "2026-11-01T00:00:00Z")
        print(f"stored {args.images} inventories of {args.packages} packages in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        new = [(f"new{i}", record(f"BENCH-NEW-{i}", rng.choice(packages), i % 2 == 0)) for i in range(args.new)]
        summary = database.import_records(new, "bench new")
        found = rematch(database, store, summary.number)

        started = time.perf_counter()
        full = sum(len(match(chosen, database.lookup)) for chosen in images.values())
        again = time.perf_counter() - started
        database.close()
        store.close()
    verdict = "ok" if found.seconds <= TARGET_SECONDS else "SLOWER THAN THE TARGET"
    print(f"re-match after importing {args.new} records: {found.images} of {args.images} images name a package "
          f"of theirs, {found.affected_images} newly affected, {found.findings} new findings")
    print(f"re-match {found.seconds:.2f} s (target <= {TARGET_SECONDS:.0f} s: {verdict}); matching every image "
          f"again {again:.2f} s ({full} findings); re-match takes {found.seconds / again:.2f}x the time of a "
          f"full re-match")
    return 0 if found.seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
