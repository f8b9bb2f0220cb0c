"""Handlers for storage policies: tag immutability rules (quotas and retention join later)."""

import msgspec

from commands.application import RegistryApplication
from commands.retries import retried
from commands.artifacts.messages import Outcome
from commands.quota_accounting import QuotaAccounting
from domain.base import Actor
from domain.errors import NotFound
from domain.immutability import ImmutabilityRules, ImmutableRule, immutability_id
from domain.project import Project, project_id


class PutImmutableRule(msgspec.Struct, frozen=True):
    project: str
    rule: ImmutableRule  # id 0 adds a rule
    actor: Actor
    only: frozenset[str] | None = None  # a partial update: just these fields of the rule change


class DeleteImmutableRule(msgspec.Struct, frozen=True):
    project: str
    rule_id: int
    actor: Actor


class SetQuotaLimit(msgspec.Struct, frozen=True):
    project: str
    limit: int
    actor: Actor


class PolicyCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    def _owner(self, project: str) -> Project:
        owner = self.app.find(project_id(project), Project)
        if owner is None or owner.deleted:
            raise NotFound("project not found", {"project": project})
        return owner

    def _rules(self, project: str, actor: Actor) -> ImmutabilityRules:
        generation = self._owner(project).generation
        rules = self.app.find(immutability_id(project, generation), ImmutabilityRules)
        return rules or ImmutabilityRules.create(project, actor, generation=generation)

    @retried
    def put_immutable_rule(self, command: PutImmutableRule) -> Outcome:
        rules = self._rules(command.project, command.actor)
        rule_id = rules.put_rule(command.rule, command.actor, command.only)
        recordings = self.app.save(rules)
        return Outcome(position=recordings[-1].notification.id, size=rule_id)

    @retried
    def set_quota_limit(self, command: SetQuotaLimit) -> Outcome:
        owner = self._owner(command.project)
        quota = QuotaAccounting(self.app).quota(command.project, owner.generation)
        quota.set_limit(command.limit, command.actor)
        recordings = self.app.save(quota)
        return Outcome(position=recordings[-1].notification.id if recordings else None)

    @retried
    def delete_immutable_rule(self, command: DeleteImmutableRule) -> Outcome:
        rules = self._rules(command.project, command.actor)
        rules.delete_rule(command.rule_id, command.actor)
        recordings = self.app.save(rules)
        return Outcome(position=recordings[-1].notification.id)
