"""A registry with one of each kind of caller and one of each kind of object, for the route
permission matrix (tests/integration/test_route_permissions.py).

The private project `p1` has a guest, a developer, a maintainer and a project admin; a
system robot holds one permission no route uses; a project robot of p1 holds what a CI job
needs (list, pull, read artifacts, tag). `fresh_*` helpers make a new object for each call
of a route that destroys what it names.
"""

import base64
import itertools

from litestar.testing import TestClient

from domain.iam.roles import DEVELOPER, GUEST, MAINTAINER, PROJECT_ADMIN
from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from infra.settings import Settings
from tests.integration.oci_client import OciClient
from tests.integration.webhook_receivers import wait_until

API = "/api/v2.0"
ADMIN_PASSWORD = "Admin-Passw0rd"
MEMBERS = {"gary": GUEST, "dave": DEVELOPER, "mia": MAINTAINER, "pam": PROJECT_ADMIN}
CI_ACCESS = [("repository", "list"), ("repository", "pull"), ("artifact", "read"),
             ("artifact", "list"), ("tag", "list"), ("tag", "create")]
UNRELATED = ("replication", "list")  # a system permission no route asks for


def basic(name: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()


def password(name: str) -> str:
    return f"{name.capitalize()}-Passw0rd1"


# A dry purge of what is older than a century: a run to point at that changes nothing.
PURGE_NOTHING = {"schedule": {"type": "Manual"},
                 "parameters": {"audit_retention_hour": 876000, "include_event_types": "pull_artifact",
                                "dry_run": True}}


def created_id(response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


class World:
    def __init__(self, tmp_path) -> None:
        settings = Settings(data_dir=str(tmp_path / "data"), external_url="http://registry.test",
                            admin_password=ADMIN_PASSWORD, gc_grace_seconds=0,
                            webhook_max_attempts=1, webhook_timeout_seconds=1.0, scan_attempts=1,
                            scan_retry_base_seconds=0.01)
        self.registry = build_registry(settings)
        self.client = TestClient(create_app(settings, self.registry), base_url="http://registry.test")
        self.numbers = itertools.count(1)

    def __enter__(self) -> "World":
        self.client.__enter__()
        self.http = self.client
        self.http.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
        self.oci = OciClient(self.http)
        self._populate()
        return self

    def __exit__(self, *exc) -> None:
        self.client.__exit__(*exc)
        self.registry.close()

    def n(self) -> int:
        return next(self.numbers)

    # -- the callers ---------------------------------------------------------------------

    def _populate(self) -> None:
        self.credentials = {"anonymous": "", "sysadmin": basic("admin", ADMIN_PASSWORD)}
        self.user_ids = {}
        for name in ("nora", *MEMBERS):
            self.user_ids[name] = created_id(self.http.post(f"{API}/users", json={
                "username": name, "password": password(name), "email": f"{name}@example.com"}))
        self.credentials.update({"nonmember": basic("nora", password("nora")),
                                 "guest": basic("gary", password("gary")),
                                 "developer": basic("dave", password("dave")),
                                 "maintainer": basic("mia", password("mia")),
                                 "projectadmin": basic("pam", password("pam"))})
        self.p1_id = self.project_with_members("p1")
        self.credentials["systemrobot"] = self._robot("system", "sys1", [
            {"kind": "system", "namespace": "/", "access": [dict(zip(("resource", "action"), UNRELATED))]}])
        self.credentials["projectrobot"] = self._robot("project", "ci", [
            {"kind": "project", "namespace": "p1",
             "access": [{"resource": r, "action": a} for r, a in CI_ACCESS]}])
        self.ci_robot_id = self.robot_ids["ci"]
        self._objects()

    def _robot(self, level: str, name: str, permissions: list) -> str:
        response = self.http.post(f"{API}/robots", json={"name": name, "level": level,
                                                         "permissions": permissions})
        assert response.status_code == 201, response.text
        body = response.json()
        self.robot_ids = {**getattr(self, "robot_ids", {}), name: body["id"]}
        return basic(body["name"], body["secret"])

    def project_with_members(self, name: str) -> int:
        project_id = created_id(self.http.post(f"{API}/projects", json={
            "project_name": name, "metadata": {"public": "false"}}))
        for user, role in MEMBERS.items():
            response = self.http.post(f"{API}/projects/{name}/members",
                                      json={"role_id": role, "member_user": {"username": user}})
            assert response.status_code == 201, response.text
        return project_id

    # -- the objects ---------------------------------------------------------------------

    def _objects(self) -> None:
        self.v1, _ = self.oci.push_image("p1/app", "v1")
        response = self.http.put(f"{API}/projects/p1", json={"metadata": {"auto_scan": "true"}})
        assert response.status_code == 200, response.text
        self.member_id = self.http.get(f"{API}/projects/p1/members", params={"entityname": "gary"}).json()[0]["id"]
        self.group_id = self.fresh_group()  # a member of p1 (no user is in it: it grants nobody anything)
        response = self.http.post(f"{API}/projects/p1/members",
                                  json={"role_id": GUEST, "member_group": {"id": self.group_id}})
        assert response.status_code == 201, response.text
        self.label_id = self.fresh_label()
        self.rule_id = self.fresh_rule()
        self.webhook_id = self.fresh_webhook()
        self.retention_id = self.fresh_retention("p1", self.p1_id)
        response = self.http.post(f"{API}/retentions/{self.retention_id}/executions", json={"dry_run": True})
        self.execution_id = created_id(response)
        self.registry.retention_runner.wait()
        tasks = self.http.get(f"{API}/retentions/{self.retention_id}/executions/{self.execution_id}/tasks")
        self.task_id = tasks.json()[0]["id"]
        self.oci.push_image("p1/app", "v2")  # an event for the webhook policy
        self.job_id = wait_until(lambda: (self.http.get(
            f"{API}/projects/p1/webhook/jobs", params={"policy_id": self.webhook_id}).json() or [None])[0], 15)["id"]
        self.registry.collector.run(True, False, None)
        self.gc_id = self.http.get(f"{API}/system/gc").json()[0]["id"]
        self.purge_id = created_id(self.http.post(f"{API}/system/purgeaudit/schedule", json=PURGE_NOTHING))
        self.scanner_name, self.scanner_id = self.fresh_scanner()  # the first: the default
        response = self.http.post(f"{API}/projects/p1/repositories/app/artifacts/v1/scan")
        assert response.status_code == 202, response.text
        self.report_id = self.registry.scan_runs.latest("p1/app", self.v1, 1, "vulnerability").scan_key
        self.registry_id = self.fresh_registry()
        self.replication_policy_id = self.fresh_replication_policy()
        self.replication_execution_id = created_id(self.http.post(
            f"{API}/replication/executions", json={"policy_id": self.replication_policy_id}))
        self.replication_task_id = wait_until(lambda: (self.http.get(
            f"{API}/replication/executions/{self.replication_execution_id}/tasks").json() or [None])[0], 30)["id"]
        self.position = self.registry.app.head()

    def fresh_registry(self) -> int:
        return created_id(self.http.post(f"{API}/registries", json={
            "name": f"registry{self.n()}", "url": "http://127.0.0.1:9"}))

    def replication_policy_body(self) -> dict:
        return {"name": f"replicate{self.n()}", "dest_registry": {"id": self.registry_id},
                "filters": [{"type": "name", "value": "p1/**"}], "retry_attempts": 1, "retry_backoff_seconds": 0}

    def fresh_replication_policy(self) -> int:
        return created_id(self.http.post(f"{API}/replication/policies", json=self.replication_policy_body()))

    def fresh_scanner(self) -> tuple[str, str]:
        name = f"scanner{self.n()}"
        response = self.http.post(f"{API}/scanners", json={"name": name, "url": "http://127.0.0.1:9"})
        assert response.status_code == 201, response.text
        return name, response.headers["location"].rsplit("/", 1)[1]

    def fresh_user(self) -> tuple[str, int]:
        name = f"user{self.n()}"
        return name, created_id(self.http.post(f"{API}/users", json={
            "username": name, "password": password(name), "email": f"{name}@example.com"}))

    def fresh_group(self) -> int:
        return created_id(self.http.post(f"{API}/usergroups", json={"group_name": f"group{self.n()}",
                                                                   "group_type": 2}))

    def fresh_member(self) -> int:
        name, _ = self.fresh_user()
        response = self.http.post(f"{API}/projects/p1/members",
                                  json={"role_id": GUEST, "member_user": {"username": name}})
        return created_id(response)

    def fresh_project(self) -> str:
        name = f"fresh{self.n()}"
        self.project_with_members(name)
        return name

    def fresh_metadata(self) -> str:
        response = self.http.put(f"{API}/projects/p1/metadatas/proxy_speed_kb", json={"proxy_speed_kb": "10"})
        assert response.status_code == 200, response.text
        return "proxy_speed_kb"

    def fresh_trusted_key(self) -> str:
        from tests.integration.signing import ecdsa_key, public_pem

        response = self.http.post(f"{API}/projects/p1/trusted-keys", json={
            "name": f"key{self.n()}", "public_key": public_pem(ecdsa_key())})
        assert response.status_code == 201, response.text
        return response.json()["fingerprint"]

    def fresh_image(self, repository: str = "p1/app") -> str:
        digest, _ = self.oci.push_image(repository, f"d{self.n()}")
        return digest

    def fresh_repository(self) -> str:
        name = f"gone{self.n()}"
        self.oci.push_image(f"p1/{name}", "v1")
        return name

    def fresh_tag(self) -> str:
        tag = f"t{self.n()}"
        response = self.http.post(f"{API}/projects/p1/repositories/app/artifacts/v1/tags", json={"name": tag})
        assert response.status_code == 201, response.text
        return tag

    def fresh_label(self) -> int:
        return created_id(self.http.post(f"{API}/labels", json={
            "name": f"label{self.n()}", "scope": "p", "project_id": self.p1_id}))

    def fresh_artifact_label(self) -> int:
        label = self.fresh_label()
        response = self.http.post(f"{API}/projects/p1/repositories/app/artifacts/v1/labels", json={"id": label})
        assert response.status_code == 200, response.text
        return label

    def rule_body(self) -> dict:
        return {"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": f"x{self.n()}-*"}],
                "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                    "pattern": "**"}]}}

    def fresh_rule(self) -> int:
        return created_id(self.http.post(f"{API}/projects/p1/immutabletagrules", json=self.rule_body()))

    def webhook_body(self) -> dict:
        return {"name": f"hook{self.n()}", "enabled": True, "event_types": ["PUSH_ARTIFACT"],
                "targets": [{"type": "http", "address": "http://127.0.0.1:9/hook"}]}

    def fresh_webhook(self) -> int:
        return created_id(self.http.post(f"{API}/projects/p1/webhook/policies", json=self.webhook_body()))

    def retention_body(self, project_id: int) -> dict:
        selector = {"kind": "doublestar", "decoration": "matches", "pattern": "**", "extras": ""}
        return {"algorithm": "or", "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
                "scope": {"level": "project", "ref": project_id},
                "rules": [{"disabled": False, "action": "retain", "template": "always", "params": {},
                           "tag_selectors": [selector],
                           "scope_selectors": {"repository": [{**selector, "decoration": "repoMatches"}]}}]}

    def fresh_retention(self, project: str | None = None, project_id: int | None = None) -> int:
        if project is None:
            project = self.fresh_project()
            project_id = self.http.get(f"{API}/projects/{project}").json()["project_id"]
        return created_id(self.http.post(f"{API}/retentions", json=self.retention_body(project_id)))

    def robot_body(self, name: str) -> dict:
        return {"name": name, "level": "project", "permissions": [
            {"kind": "project", "namespace": "p1", "access": [{"resource": "repository", "action": "pull"}]}]}

    def fresh_robot(self) -> int:
        response = self.http.post(f"{API}/robots", json=self.robot_body(f"bot{self.n()}"))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def deleted_artifact(self) -> str:
        digest = self.fresh_image()
        response = self.http.delete(f"{API}/projects/p1/repositories/app/artifacts/{digest}")
        assert response.status_code == 200, response.text
        return digest
