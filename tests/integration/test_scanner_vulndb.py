"""`tidemark vulndb import` and the database behind it: all or nothing, newer wins, and
readers keep reading while an import writes."""

import json
import threading
import zipfile

from infra.scanner.osv_files import Sources
from infra.scanner.vulndb import VulnDb
from tests.integration.scanner_world import cli, clean_env


def record(record_id, fixed="2.0", modified="2024-01-01T00:00:00Z", name="pkg"):
    return {"id": record_id, "modified": modified,
            "affected": [{"package": {"ecosystem": "PyPI", "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}


def vulndb(data_dir, *args):
    return cli("vulndb", *args, "--data-dir", str(data_dir), env=clean_env())


def test_a_malformed_record_is_refused_naming_file_and_record_and_nothing_is_imported(tmp_path):
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "a-good.json").write_text(json.dumps([record("PYSEC-1"), record("PYSEC-2")]))
    (feed / "b-bad.json").write_text(json.dumps(record("GHSA-bad1-bad2-bad3", fixed="two point oh")))
    (feed / "c-good.json").write_text(json.dumps(record("PYSEC-3")))
    refused = vulndb(tmp_path, "import", str(feed))
    assert refused.returncode != 0
    assert "b-bad.json, record GHSA-bad1-bad2-bad3: affected[0].ranges[0].events[1].fixed: " \
           "'two point oh' is not a PEP 440 version; nothing was imported" in refused.stderr
    status = vulndb(tmp_path, "status")
    assert "0 records, updated at never" in status.stdout


def test_a_file_that_is_not_json_is_refused_by_name(tmp_path):
    with zipfile.ZipFile(tmp_path / "dump.zip", "w") as dump:
        dump.writestr("PYSEC-1.json", json.dumps(record("PYSEC-1")))
        dump.writestr("broken.json", "{\"id\": ")
    refused = vulndb(tmp_path, "import", str(tmp_path / "dump.zip"))
    assert refused.returncode != 0
    assert "dump.zip:broken.json: not valid JSON" in refused.stderr
    assert "0 records" in vulndb(tmp_path, "status").stdout


def test_zip_dumps_json_lists_and_directories_import_with_progress_on_stderr(tmp_path):
    with zipfile.ZipFile(tmp_path / "all.zip", "w") as dump:
        for number in range(30):
            dump.writestr(f"PYSEC-{number}.json", json.dumps(record(f"PYSEC-{number}", name=f"p{number}")))
    (tmp_path / "list.json").write_text(json.dumps([record("GHSA-l1"), record("GHSA-l2")]))
    done = vulndb(tmp_path, "import", str(tmp_path / "all.zip"), str(tmp_path / "list.json"))
    assert done.returncode == 0, done.stderr
    assert "imported 32 records (32 new, 0 replaced, 0 kept" in done.stdout
    assert "importing: 31/31 files, 32 records" in done.stderr
    assert "32 records, updated at 20" in vulndb(tmp_path, "status").stdout
    assert "nonexistent" in vulndb(tmp_path, "import", str(tmp_path / "nonexistent")).stderr


def test_a_record_imported_again_replaces_the_stored_one_unless_that_one_is_newer(tmp_path):
    database = VulnDb(tmp_path / "vulndb.sqlite")
    first = database.import_records([("a.json", record("PYSEC-9", fixed="2.0", modified="2024-02-01T00:00:00Z"))], "a")
    assert (first.added, first.replaced) == (1, 0)
    newer = database.import_records([("b.json", record("PYSEC-9", fixed="2.5", modified="2024-03-01T00:00:00Z"))], "b")
    assert (newer.added, newer.replaced) == (0, 1)
    older = database.import_records([("c.json", record("PYSEC-9", fixed="1.0", modified="2024-01-01T00:00:00Z"))], "c")
    assert older.kept == 1
    stored = database.lookup("PyPI", "pkg")
    assert [r["affected"][0]["ranges"][0]["events"][1]["fixed"] for r in stored] == ["2.5"]
    renamed = database.import_records([("d.json", record("PYSEC-9", modified="2024-04-01T00:00:00Z", name="other"))], "d")
    assert renamed.replaced == 1
    assert database.lookup("PyPI", "pkg") == [] and len(database.lookup("PyPI", "other")) == 1


def test_scans_read_the_last_committed_state_while_an_import_writes(tmp_path):
    path = tmp_path / "vulndb.sqlite"
    VulnDb(path).import_records([("old.json", record("PYSEC-1"))], "old")
    halfway, finish = threading.Event(), threading.Event()

    def slow_feed():
        yield "new-1.json", record("PYSEC-2")
        halfway.set()
        finish.wait(30)
        yield "new-2.json", record("PYSEC-3")

    writer = threading.Thread(target=lambda: VulnDb(path).import_records(slow_feed(), "new"))
    writer.start()
    assert halfway.wait(30)
    reader = VulnDb(path)
    assert [r["id"] for r in reader.lookup("PyPI", "pkg")] == ["PYSEC-1"]  # not half of the import
    finish.set()
    writer.join(30)
    assert sorted(r["id"] for r in reader.lookup("PyPI", "pkg")) == ["PYSEC-1", "PYSEC-2", "PYSEC-3"]


def test_a_directory_is_read_in_name_order_with_labels_relative_to_it(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.json").write_text(json.dumps(record("PYSEC-2")))
    (tmp_path / "a.json").write_text(json.dumps(record("PYSEC-1")))
    sources = Sources([tmp_path])
    assert sources.total == 2
    assert [label for label, _ in sources.records()] == ["a.json", "b/two.json"]
