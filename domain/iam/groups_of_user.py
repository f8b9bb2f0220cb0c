"""The user groups a user is in, as their last sign-in (LDAP, OIDC) said.

A stream of its own per user, beside the `User` aggregate: sign-ins are frequent and the set
rarely changes, so only a change is an event, and "which groups was dave in on 1 March" is a
read of this stream (or of the identity view's history of it).
"""

from domain.base import Actor, RegistryAggregate
from domain.names import stream_id


def groups_of_user_id(username: str):
    return stream_id("groups-of-user", username)


class GroupsOfUser(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A user's group membership began to be recorded (at their first sign-in with groups)."""

        username: str

    class Changed(RegistryAggregate.Event):
        """A sign-in found the user in another set of groups than the last one (ids of
        UserGroups groups; `previous` is the set before)."""

        username: str
        group_ids: list[int]
        previous: list[int]

        def apply(self, groups: "GroupsOfUser") -> None:
            groups.group_ids = list(self.group_ids)

    def __init__(self, username: str) -> None:
        self.username = username
        self.group_ids: list[int] = []

    @classmethod
    def start(cls, username: str, actor: Actor) -> "GroupsOfUser":
        return cls._create(cls.Created, id=groups_of_user_id(username), username=username,
                           **actor.fields())

    def record(self, group_ids: list[int], actor: Actor) -> bool:
        """Record the groups the user is in now; nothing when they did not change. True if
        they changed."""
        now = sorted(set(group_ids))
        if now == self.group_ids:
            return False
        self.trigger_event(self.Changed, username=self.username, group_ids=now,
                           previous=list(self.group_ids), **actor.fields())
        return True
