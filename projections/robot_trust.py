"""The trust part of the identity view (keyless CI robots, ADR 0045): each robot's trust
policies, with the id of the robot they were set on. The identity view (projections/iam_view.py)
applies these handlers, so a robot row and its trust change in one transaction, and a robot
that is deleted (or its project) takes its trust along: one made again under the name starts
with none."""

import json

from domain.iam.robot import Robot, project_robots_pattern
from projections.times import stamp

TRUST_TABLES = ("robot_trust",)


def trust_schema(p: str) -> list[str]:
    return [f"""CREATE TABLE IF NOT EXISTS {p}robot_trust (
        name TEXT PRIMARY KEY, robot_id BIGINT NOT NULL, policies TEXT NOT NULL,
        updated_at TEXT NOT NULL)"""]


def trust_handlers(p: str) -> dict:
    def changed(w, e, pos) -> set:
        rows = w.execute(f"SELECT robot_id FROM {p}robots WHERE name = ?", (e.name,))
        if not rows:  # the robot's row went with its project meanwhile
            return set()
        w.execute(f"DELETE FROM {p}robot_trust WHERE name = ?", (e.name,))
        if e.policies:
            w.execute(f"INSERT INTO {p}robot_trust VALUES (?, ?, ?, ?)",
                      (e.name, rows[0][0], json.dumps(e.policies), stamp(e.timestamp)))
        w.execute(f"UPDATE {p}robots SET updated_at = ? WHERE name = ?", (stamp(e.timestamp), e.name))
        return {("robot", e.name)}
    return {Robot.TrustChanged: changed}


def forget_trust(w, p: str, name: str) -> None:
    w.execute(f"DELETE FROM {p}robot_trust WHERE name = ?", (name,))


def forget_project_trust(w, p: str, project: str) -> None:
    w.execute(f"DELETE FROM {p}robot_trust WHERE name LIKE ? ESCAPE '!'", (project_robots_pattern(project),))


def trust_of(db, p: str, name: str) -> tuple[int, list[dict]] | None:
    """(robot id, policies) of the robot of that name now, None when it trusts nobody. The
    id is the current robot's: trust set on a robot deleted since is gone with it."""
    rows = db.read(f"SELECT t.robot_id, t.policies FROM {p}robot_trust t JOIN {p}robots r "
                   "ON r.name = t.name AND r.robot_id = t.robot_id WHERE t.name = ?", (name,))
    return (rows[0][0], json.loads(rows[0][1])) if rows else None
