"""Commands about user groups: the directory (`/usergroups`), groups as project members, and the
groups a user is in, recorded at each sign-in (ADR 0041)."""

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.errors import BadRequest, NotFound, RegistryError
from domain.iam.groups_of_user import GroupsOfUser, groups_of_user_id
from domain.iam.user import User, user_id
from domain.iam.user_group import LDAP_GROUP, UserGroups, check_group_type, directory_id, normal_dn
from domain.project import Project, project_id


class CreateUserGroup(msgspec.Struct, frozen=True):
    group_name: object
    group_type: object
    ldap_group_dn: object
    actor: Actor


class RenameUserGroup(msgspec.Struct, frozen=True):
    group_id: int
    group_name: object
    actor: Actor


class DeleteUserGroup(msgspec.Struct, frozen=True):
    group_id: int
    actor: Actor
    projects: list[str] = []  # projects the group is a member of: its memberships end with it


class GroupRef(msgspec.Struct, frozen=True):
    """A group as `member_group` names it: by id, by LDAP DN, or by name (and type)."""

    id: int | None = None
    group_name: str | None = None
    group_type: int | None = None
    ldap_group_dn: str | None = None


class AddGroupMember(msgspec.Struct, frozen=True):
    project: str
    group: GroupRef
    role: int
    actor: Actor


class ChangeGroupMemberRole(msgspec.Struct, frozen=True):
    project: str
    group_id: int
    role: int
    actor: Actor


class RemoveGroupMember(msgspec.Struct, frozen=True):
    project: str
    group_id: int
    actor: Actor


class RecordSignInGroups(msgspec.Struct, frozen=True):
    """The groups a directory or identity provider says a user is in, at a sign-in: each is
    (group name, LDAP group DN or "")."""

    username: str
    group_type: int
    groups: list[tuple[str, str]]
    actor: Actor


class GroupCreated(msgspec.Struct, frozen=True):
    position: int | None
    group_id: int


class SignInGroups(msgspec.Struct, frozen=True):
    """The ids of the groups the user is in now; `position` None when nothing changed."""

    position: int | None
    group_ids: list[int]


class GroupCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    def _save(self, *aggregates) -> Outcome:
        """Save the aggregates that changed (a directory or record only just started, with
        nothing in it, is not worth a stream)."""
        changed = [a for a in aggregates if a is not None
                   and any(not isinstance(e, a.Created) for e in a.pending_events)]
        recordings = self.app.save(*changed) if changed else []
        return Outcome(position=max((r.notification.id for r in recordings), default=None))

    def _directory(self, actor: Actor) -> UserGroups:
        return self.app.find(directory_id(), UserGroups) or UserGroups.start(actor)

    def _project(self, name: str) -> Project:
        project = self.app.find(project_id(name), Project)
        if project is None or project.deleted:
            raise NotFound("project not found", {"project": name})
        return project

    @retried
    def create_group(self, c: CreateUserGroup) -> GroupCreated:
        directory = self._directory(c.actor)
        group_id = directory.create_group(c.group_name, c.group_type, c.ldap_group_dn, c.actor)
        return GroupCreated(self._save(directory).position, group_id)

    @retried
    def rename_group(self, c: RenameUserGroup) -> Outcome:
        directory = self._directory(c.actor)
        directory.rename(c.group_id, c.group_name, c.actor)
        return self._save(directory)

    @retried
    def delete_group(self, c: DeleteUserGroup) -> Outcome:
        """Delete a group and, in the same save, its memberships in `projects`."""
        directory = self._directory(c.actor)
        directory.delete_group(c.group_id, c.actor)
        projects = []
        for name in sorted(set(c.projects)):
            project = self.app.find(project_id(name), Project)
            if project is not None and not project.deleted and c.group_id in project.group_members:
                project.remove_group_member(c.group_id, c.actor)
                projects.append(project)
        return self._save(directory, *projects)

    def _resolve(self, directory: UserGroups, ref: GroupRef, actor: Actor) -> int:
        """The id of the group `member_group` names, as Harbor resolves it: the id; else an
        LDAP DN (a known group: LDAP groups are onboarded by sign-in or POST /usergroups);
        else a name within its type, onboarding an HTTP or OIDC group not known yet."""
        if ref.id is not None and ref.id > 0:
            directory.group(ref.id)
            return ref.id
        if ref.ldap_group_dn:
            known = directory.by_dn(normal_dn(ref.ldap_group_dn))
            if known is None:
                raise NotFound("no LDAP group has that DN; create it first (POST /usergroups)",
                               {"ldap_group_dn": ref.ldap_group_dn[:512]})
            return known
        if ref.group_name:
            if ref.group_type is None:
                named = [gid for gid, (n, _, _) in directory.groups.items() if n == ref.group_name]
                if len(named) == 1:
                    return named[0]
                raise BadRequest("member_group needs group_type with group_name", {"field": "group_type"})
            group_type = check_group_type(ref.group_type)
            known = directory.by_name(ref.group_name, group_type)
            if known is not None:
                return known
            if group_type == LDAP_GROUP:
                raise NotFound("no LDAP group has that name", {"group_name": ref.group_name[:255]})
            return directory.onboard(group_type, ref.group_name, "", actor)
        raise BadRequest("member_group needs id, ldap_group_dn or group_name", {"field": "member_group"})

    @retried
    def add_group_member(self, c: AddGroupMember) -> Outcome:
        project = self._project(c.project)
        directory = self._directory(c.actor)
        group_id = self._resolve(directory, c.group, c.actor)
        project.add_group_member(group_id, directory.groups[group_id][0], c.role, c.actor)
        return self._save(directory, project)

    @retried
    def change_group_member_role(self, c: ChangeGroupMemberRole) -> Outcome:
        project = self._project(c.project)
        project.change_group_role(c.group_id, c.role, c.actor)
        return self._save(project)

    @retried
    def remove_group_member(self, c: RemoveGroupMember) -> Outcome:
        project = self._project(c.project)
        project.remove_group_member(c.group_id, c.actor)
        return self._save(project)

    @retried
    def record_sign_in_groups(self, c: RecordSignInGroups) -> SignInGroups:
        """At a sign-in: onboard the groups not known yet and record the set of groups the user
        is in now (an event only when it changed). The set replaces the one recorded before,
        whatever its type: the user's groups are those of their latest sign-in. A group that
        cannot be onboarded (no DN for an LDAP group, a name with control characters) is
        skipped, as Harbor does; the others still count."""
        user = self.app.find(user_id(c.username), User)
        if user is None or user.deleted:
            raise NotFound("user not found", {"username": c.username})
        group_type = check_group_type(c.group_type)
        directory = self._directory(c.actor)
        ids = []
        for name, dn in c.groups:
            try:
                ids.append(directory.onboard(group_type, name, dn, c.actor))
            except RegistryError:
                continue
        membership = self.app.find(groups_of_user_id(c.username), GroupsOfUser)
        if membership is None:
            membership = GroupsOfUser.start(c.username, c.actor)
        membership.record(ids, c.actor)
        return SignInGroups(self._save(directory, membership).position, sorted(set(ids)))
