"""A project's tag immutability rules: a tag they select can never be moved or deleted."""

import msgspec

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, NotFound
from domain.names import project_stream_id
from domain.selectors import Selector, check_selector, selected

MAX_RULES = 15


class ImmutableRule(msgspec.Struct, frozen=True):
    id: int
    priority: int
    disabled: bool
    tag_selectors: list[Selector]
    repository_selectors: list[Selector]

    def protects(self, repository_path: str, tag: str) -> bool:
        return not self.disabled and selected(self.repository_selectors, repository_path) \
            and selected(self.tag_selectors, tag)


def immutability_id(project: str, generation: int):
    return project_stream_id("immutability", generation, project)


def check_rule(rule: ImmutableRule) -> ImmutableRule:
    if not rule.tag_selectors:
        raise BadRequest("tag_selectors: a rule needs at least one tag selector", {"field": "tag_selectors"})
    for selector in rule.tag_selectors:
        check_selector(selector, "tag_selectors")
    for selector in rule.repository_selectors:
        check_selector(selector, "scope_selectors.repository")
    return rule


class ImmutabilityRules(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A project got its (empty) set of immutability rules."""

        project: str

    class RuleSet(RegistryAggregate.Event):
        """An immutability rule was added or changed."""

        project: str
        rule: dict

        def apply(self, rules: "ImmutabilityRules") -> None:
            rules.rules[self.rule["id"]] = msgspec.convert(self.rule, ImmutableRule)
            rules.next_id = max(rules.next_id, self.rule["id"] + 1)

    class RuleDeleted(RegistryAggregate.Event):
        """An immutability rule was removed."""

        project: str
        rule_id: int

        def apply(self, rules: "ImmutabilityRules") -> None:
            rules.rules.pop(self.rule_id, None)

    def __init__(self, project: str) -> None:
        self.project = project
        self.rules: dict[int, ImmutableRule] = {}
        self.next_id = 1

    @classmethod
    def create(cls, project: str, actor: Actor, *, generation: int) -> "ImmutabilityRules":
        return cls._create(cls.Created, id=immutability_id(project, generation), project=project,
                           **actor.fields())

    def put_rule(self, rule: ImmutableRule, actor: Actor, only: frozenset[str] | None = None) -> int:
        """Add (id 0) or replace a rule; return its id. With `only`, just those fields of the
        rule change (a partial update, e.g. `{"disabled": true}`) and the rest are kept."""
        if only is not None and rule.id in self.rules:
            rule = msgspec.structs.replace(self.rules[rule.id], **{f: getattr(rule, f) for f in only})
        if rule.id == 0:
            if len(self.rules) >= MAX_RULES:
                raise BadRequest(f"at most {MAX_RULES} immutability rules per project")
            rule = msgspec.structs.replace(rule, id=self.next_id)
        elif rule.id not in self.rules:
            raise NotFound("immutability rule not found", {"id": rule.id})
        check_rule(rule)
        self.trigger_event(self.RuleSet, project=self.project, rule=msgspec.to_builtins(rule),
                           **actor.fields())
        return rule.id

    def delete_rule(self, rule_id: int, actor: Actor) -> None:
        if rule_id not in self.rules:
            raise NotFound("immutability rule not found", {"id": rule_id})
        self.trigger_event(self.RuleDeleted, project=self.project, rule_id=rule_id, **actor.fields())

    def protecting(self, repository: str, tag: str) -> ImmutableRule | None:
        """The rule that makes this tag immutable, if any (repository given as project/path)."""
        path = repository.split("/", 1)[1]
        for rule in sorted(self.rules.values(), key=lambda r: (r.priority, r.id)):
            if rule.protects(path, tag):
                return rule
        return None
