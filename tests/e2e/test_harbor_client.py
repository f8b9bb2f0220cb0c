"""PyPI's `harborapi` (HarborAsyncClient, pydantic models) driven across every area Tidemark serves.

One real `tidemark serve` for the module (the session's registry), one image pushed by skopeo;
one test per area, each call named in its failure (harbor_client_world.call). What is asserted is
what a user of the client sees: the returned models' fields.
"""

from __future__ import annotations

import pytest
from harborapi import models as m  # the test extra installs it

from .harbor_client_world import PROJECT, REPOSITORY, World, call, harbor_client, run, world  # noqa: F401

pytestmark = pytest.mark.e2e


def test_system(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        info = await call("get_system_info", client.get_system_info())
        assert info.harbor_version and info.harbor_version.startswith("v")
        assert await call("ping", client.ping()) == "Pong"
        health = await call("health_check", client.health_check())
        assert health.status == "healthy"
        stats = await call("get_statistics", client.get_statistics())
        assert stats.total_project_count >= 1 and stats.total_repo_count >= 1
        found = await call("search", client.search(PROJECT))
        assert PROJECT in [p.name for p in found.project]
        assert f"{PROJECT}/{REPOSITORY}" in [r.repository_name for r in found.repository]
    run(scenario)


def test_users(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        location = await call("create_user", client.create_user(m.UserCreationReq(
            username="hc-alice", email="alice@example.com", realname="Alice", password="Alice-Passw0rd",
            comment="first")))
        user_id = int(location.rstrip("/").rsplit("/", 1)[-1])
        user = await call("get_user", client.get_user(user_id))
        assert (user.username, user.email, user.realname) == ("hc-alice", "alice@example.com", "Alice")
        await call("update_user", client.update_user(user_id, m.UserProfile(
            email="alice@example.org", realname="Alice B", comment="second")))
        user = await call("get_user_by_username", client.get_user_by_username("hc-alice"))
        assert (user.email, user.realname) == ("alice@example.org", "Alice B")
        await call("set_user_password", client.set_user_password(
            user_id, new_password="Alice-Passw0rd2", old_password="Alice-Passw0rd"))
        alice = harbor_client(world, "hc-alice", "Alice-Passw0rd2")
        current = await call("get_current_user", alice.get_current_user())
        assert current.username == "hc-alice" and not current.sysadmin_flag
        await call("set_user_admin", client.set_user_admin(user_id, True))
        assert (await call("get_user", client.get_user(user_id))).sysadmin_flag is True
        hits = await call("search_users_by_username", client.search_users_by_username("hc-ali"))
        assert [h.username for h in hits] == ["hc-alice"]
        listed = await call("get_users", client.get_users(query="username=hc-alice"))
        assert [u.username for u in listed] == ["hc-alice"]
        await call("delete_user", client.delete_user(user_id))
        assert await call("get_users after delete", client.get_users(query="username=hc-alice")) == []
    run(scenario)


def test_projects(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        await call("create_project", client.create_project(m.ProjectReq(
            project_name="hc-proj", metadata=m.ProjectMetadata(public="false"))))
        project = await call("get_project", client.get_project("hc-proj"))
        assert (project.name, project.metadata.public) == ("hc-proj", "false")
        assert project.owner_name == "admin" and project.repo_count == 0
        assert await call("project_exists", client.project_exists("hc-proj")) is True
        assert await call("project_exists (absent)", client.project_exists("hc-none")) is False
        names = [p.name for p in await call("get_projects", client.get_projects(page_size=100))]
        assert {"hc-proj", PROJECT} <= set(names)
        private = await call("get_projects public=False", client.get_projects(public=False))
        assert "hc-proj" in [p.name for p in private] and PROJECT not in [p.name for p in private]
        await call("update_project", client.update_project("hc-proj", m.ProjectReq(
            metadata=m.ProjectMetadata(public="true"))))
        project = await call("get_project after update", client.get_project(project.project_id))
        assert project.metadata.public == "true"
        summary = await call("get_project_summary", client.get_project_summary(PROJECT))
        assert summary.repo_count == 1 and summary.quota.used.root["storage"] > 0
        await call("delete_project", client.delete_project("hc-proj"))
        assert await call("project_exists after delete", client.project_exists("hc-proj")) is False
    run(scenario)


def test_project_metadata(world: World) -> None:
    """Harbor's metadata keys beyond `public` survive a create and an update (Terraform reads
    them back)."""
    async def scenario() -> None:
        client = harbor_client(world)
        keys = {"auto_scan": "true", "severity": "high", "prevent_vul": "true",
                "enable_content_trust": "false", "reuse_sys_cve_allowlist": "true"}
        await call("create_project", client.create_project(m.ProjectReq(
            project_name="hc-meta", metadata=m.ProjectMetadata(public="false", **keys))))
        project = await call("get_project", client.get_project("hc-meta"))
        assert {k: getattr(project.metadata, k) for k in keys} == keys
        await call("update_project", client.update_project("hc-meta", m.ProjectReq(
            metadata=m.ProjectMetadata(public="true", **{**keys, "severity": "critical"}))))
        project = await call("get_project after update", client.get_project("hc-meta"))
        assert (project.metadata.public, project.metadata.severity) == ("true", "critical")
        assert project.metadata.auto_scan == "true"
        await call("delete_project", client.delete_project("hc-meta"))
    run(scenario)


def test_members(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        await call("create_user", client.create_user(m.UserCreationReq(
            username="hc-bob", email="bob@example.com", realname="Bob", password="Bob-Passw0rd1")))
        await call("add_project_member_user", client.add_project_member_user(PROJECT, "hc-bob", 3))
        members = await call("get_project_members", client.get_project_members(PROJECT,
                                                                               entity_name="hc-bob"))
        assert [(x.entity_name, x.role_id) for x in members] == [("hc-bob", 3)]
        member_id = members[0].id
        await call("update_project_member_role", client.update_project_member_role(
            PROJECT, member_id, m.RoleRequest(role_id=2)))
        member = await call("get_project_member", client.get_project_member(PROJECT, member_id))
        assert (member.entity_name, member.role_id, member.role_name) == ("hc-bob", 2, "developer")
        await call("remove_project_member", client.remove_project_member(PROJECT, member_id))
        assert await call("get_project_members after remove", client.get_project_members(
            PROJECT, entity_name="hc-bob")) == []
    run(scenario)


def _pull(kind: str, namespace: str) -> m.RobotPermission:
    return m.RobotPermission(kind=kind, namespace=namespace, access=[
        m.Access(resource="repository", action="pull"),
        m.Access(resource="repository", action="list")])


@pytest.mark.parametrize("level", ["system", "project"])
def test_robots(world: World, level: str) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        permission = _pull("project", PROJECT)
        created = await call("create_robot", client.create_robot(m.RobotCreate(
            name=f"hc-{level}", description="ci", level=level, duration=30,
            permissions=[permission])))
        assert created.id and created.secret and f"hc-{level}" in created.name
        robot = await call("get_robot", client.get_robot(created.id))
        assert (robot.name, robot.level, robot.description) == (created.name, level, "ci")
        assert [p.namespace for p in robot.permissions] == [PROJECT]
        robot.description = "ci, renamed"
        await call("update_robot", client.update_robot(created.id, robot))
        listed = await call("get_robots", client.get_robots(query=f"name={created.name}"))
        assert [(r.id, r.description) for r in listed] == [(created.id, "ci, renamed")]
        refreshed = await call("refresh_robot_secret", client.refresh_robot_secret(
            created.id, "Robot-Secret-9x"))
        assert refreshed.secret in (None, "", "Robot-Secret-9x")
        as_robot = harbor_client(world, created.name, "Robot-Secret-9x")
        repos = await call("get_repositories as the robot", as_robot.get_repositories(PROJECT))
        assert f"{PROJECT}/{REPOSITORY}" in [r.name for r in repos]
        await call("delete_robot", client.delete_robot(created.id))
        assert await call("get_robots after delete",
                          client.get_robots(query=f"name={created.name}")) == []
    run(scenario)


def test_repositories(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        repos = await call("get_repositories", client.get_repositories(PROJECT))
        assert [(r.name, r.artifact_count) for r in repos] == [(f"{PROJECT}/{REPOSITORY}", 1)]
        repo = await call("get_repository", client.get_repository(PROJECT, REPOSITORY))
        assert repo.project_id == world.project_id
        everywhere = await call("get_repositories (all)", client.get_repositories(page_size=100))
        assert f"{PROJECT}/{REPOSITORY}" in [r.name for r in everywhere]
        await call("update_repository", client.update_repository(
            PROJECT, REPOSITORY, m.Repository(description="the app")))
        repo = await call("get_repository after update", client.get_repository(PROJECT, REPOSITORY))
        assert repo.description == "the app"
        await call("copy_artifact to a new repository", client.copy_artifact(
            PROJECT, "doomed", f"{PROJECT}/{REPOSITORY}@{world.digest}"))
        await call("delete_repository", client.delete_repository(PROJECT, "doomed"))
        names = [r.name for r in await call("get_repositories after delete",
                                            client.get_repositories(PROJECT))]
        assert f"{PROJECT}/doomed" not in names
    run(scenario)


def test_list_queries(world: World) -> None:
    """q= in Harbor's syntax and sort= on the lists a script filters before acting."""
    async def scenario() -> None:
        client = harbor_client(world)
        projects = await call("get_projects q=name=~", client.get_projects(query="name=~h",
                                                                          sort="-name"))
        names = [p.name for p in projects]
        assert PROJECT in names and names == sorted(names, reverse=True)
        repos = await call("get_repositories q=name=~", client.get_repositories(
            PROJECT, query=f"name=~{REPOSITORY}"))
        assert [r.name for r in repos] == [f"{PROJECT}/{REPOSITORY}"]
        tags = await call("get_artifact_tags q=name=", client.get_artifact_tags(
            PROJECT, REPOSITORY, world.digest, query="name=v1"))
        assert [t.name for t in tags] == ["v1"]
        assert await call("get_artifact_tags q=name= (none)", client.get_artifact_tags(
            PROJECT, REPOSITORY, world.digest, query="name=nope")) == []
        artifacts = await call("get_artifacts q=tags=", client.get_artifacts(
            PROJECT, REPOSITORY, query="tags=v1"))
        assert [a.digest for a in artifacts] == [world.digest]
        assert await call("get_artifacts q=tags= (none)", client.get_artifacts(
            PROJECT, REPOSITORY, query="tags=nope")) == []
        logs = await call("get_audit_logs q=operation=", client.get_audit_logs(
            query="operation=create", sort="-op_time", page_size=100))
        assert logs and {x.operation for x in logs} == {"create"}
        assert [x.op_time for x in logs] == sorted((x.op_time for x in logs), reverse=True)
    run(scenario)


def test_project_deletable_and_metadatas(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        deletable = await call("get_project_deletable", client.get_project_deletable(PROJECT))
        assert deletable.deletable is False  # it holds hc/app
        await call("set_project_metadata", client.set_project_metadata(
            PROJECT, m.ProjectMetadata(auto_scan="false")))
        metadata = await call("get_project_metadata", client.get_project_metadata(PROJECT))
        assert (metadata.public, metadata.auto_scan) == ("true", "false")
        entry = await call("get_project_metadata_entry", client.get_project_metadata_entry(
            PROJECT, "auto_scan"))
        assert entry == {"auto_scan": "false"}
    run(scenario)


def test_configurations(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        config = await call("get_config", client.get_config())
        assert config.auth_mode.value == "db_auth"
        await call("update_config", client.update_config(m.Configurations(
            banner_message="hello from the client suite")))
        config = await call("get_config after update", client.get_config())
        assert config.banner_message.value == "hello from the client suite"
    run(scenario)
