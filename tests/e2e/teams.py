"""A private project with a developer and a guest, made through the REST API (the client
end-to-end tests each sign in as one of them)."""

import itertools

_names = itertools.count(1)


def make_team(api, prefix: str) -> dict:
    n = next(_names)
    project, dev, guest = f"{prefix}team{n}", f"{prefix}dev{n}", f"{prefix}guest{n}"
    assert api.post("/projects", json={"project_name": project, "metadata": {"public": "false"}}).status_code == 201
    for user, role in ((dev, 2), (guest, 3)):
        assert api.post("/users", json={"username": user, "password": "Passw0rd-" + user,
                                        "email": f"{user}@example.com"}).status_code == 201
        assert api.post(f"/projects/{project}/members",
                        json={"role_id": role, "member_user": {"username": user}}).status_code == 201
    return {"project": project, "dev": dev, "guest": guest}
