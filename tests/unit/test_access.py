"""Who may do what: robots only through their explicit permissions, and nobody grants more
than they hold."""

from domain.iam.access import Principal, allows, sees_project, system_allows, ungrantable
from domain.iam.robot import Grant
from domain.iam.roles import MAINTAINER, PROJECT_ADMIN

ADMIN = Principal(kind="user", name="admin", sysadmin=True)
ROBOT = Principal(kind="robot", name="robot$ci", grants=[
    {"kind": "system", "namespace": "/", "access": [["user", "list"]]},
    {"kind": "project", "namespace": "p1", "access": [["repository", "pull"]]}])


def public_of(name: str):
    return {"p1": False, "pub": True}.get(name)


def test_a_robot_permission_never_makes_a_system_administrator():
    assert system_allows(ROBOT, "user", "list")
    assert not system_allows(ROBOT, "user", "create")
    assert not ROBOT.sysadmin


def test_a_robot_sees_a_project_it_holds_a_permission_in_and_no_other():
    assert sees_project(ROBOT, "p1", False)
    assert not sees_project(ROBOT, "p2", False)
    assert not allows(ROBOT, "p1", False, "project", "read")


def test_nobody_grants_a_permission_they_do_not_hold():
    maintainer = Principal(kind="user", name="mia", roles={"p1": MAINTAINER})
    grant = [Grant("project", "p1", [("repository", "pull"), ("webhook", "create")])]
    assert ungrantable(maintainer, grant, public_of) == ("p1", "webhook", "create")
    owner = Principal(kind="user", name="pam", roles={"p1": PROJECT_ADMIN})
    assert ungrantable(owner, grant, public_of) is None
    assert ungrantable(owner, [Grant("project", "*", [("repository", "pull")])], public_of) == (
        "*", "repository", "pull")
    assert ungrantable(ROBOT, [Grant("system", "/", [("user", "create")])], public_of) == (
        "system", "user", "create")
    assert ungrantable(ADMIN, [Grant("project", "*", [("repository", "push")])], public_of) is None
