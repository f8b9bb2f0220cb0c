"""A project's tag retention policy (Harbor's model): which artifacts a run keeps.

One policy per project, one stream per project. Every edit is an event that
carries the whole policy and bumps `policy_version`, so a run's deletions can
name the exact policy that decided them.
"""

import json

import msgspec

from domain.base import Actor, RegistryAggregate
from domain.cron import check_cron
from domain.errors import BadRequest, Conflict, NotFound
from domain.input_limits import is_decimal, saturating_natural
from domain.names import project_stream_id
from domain.selectors import EXCLUDE, INCLUDE, Selector, check_selector

MAX_RULES = 15
MAX_PARAM = 2**31 - 1

# Harbor's rule templates: template -> (parameter key or None, unit, display text).
TEMPLATES = {
    "latestPushedK": ("latestPushedK", "count", "retain the most recently pushed # artifacts"),
    "latestPulledN": ("latestPulledN", "count", "retain the most recently pulled # artifacts"),
    "nDaysSinceLastPush": ("nDaysSinceLastPush", "days", "retain the artifacts pushed within the last # days"),
    "nDaysSinceLastPull": ("nDaysSinceLastPull", "days", "retain the artifacts pulled within the last # days"),
    "always": (None, "", "retain always"),
}
TRIGGERS = {"schedule": "Schedule", "manual": "Manual"}


class RetentionRule(msgspec.Struct, frozen=True):
    """One rule: among the artifacts its selectors pick, the template says which to keep."""

    id: int
    template: str
    params: dict
    tag_selectors: list[Selector]
    repository_selectors: list[Selector]
    disabled: bool = False
    priority: int = 0
    action: str = "retain"

    @property
    def param(self) -> int:
        key = TEMPLATES[self.template][0]
        return self.params[key] if key else 0

    def describe(self) -> str:
        key = TEMPLATES[self.template][0]
        return f"{self.template}={self.params[key]}" if key else self.template


class PolicySpec(msgspec.Struct, frozen=True):
    """The whole policy as the API edits it: rules, algorithm and trigger."""

    rules: list[RetentionRule]
    trigger: str = "Schedule"
    cron: str = ""
    algorithm: str = "or"


def retention_id(project: str, generation: int):
    return project_stream_id("retention", generation, project)


def untagged_option(selector: Selector, field: str = "tag_selectors") -> bool:
    """Harbor's `{"untagged": true}` extra: the selector also picks artifacts without tags."""
    if not selector.extras:
        return False
    try:
        extras = json.loads(selector.extras)
    except ValueError:
        extras = None
    if not isinstance(extras, dict) or not isinstance(extras.get("untagged", False), bool):
        raise BadRequest(f'{field}.extras must be a JSON object like {{"untagged": true}}',
                         {"field": f"{field}.extras"})
    return extras.get("untagged", False)


def cron_fields(cron: str) -> int:
    """5 (standard cron) or 6 (Harbor's, seconds first); BadRequest if it is not cron."""
    return check_cron(cron, "trigger.settings.cron")


def _param(value: object, field: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and is_decimal(value.strip()):
        value = saturating_natural(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PARAM:
        raise BadRequest(f"{field} must be a non-negative integer", {"field": field})
    return value


def _check_selectors(selectors: list[Selector], field: str, allowed: tuple[str, ...]) -> None:
    for index, selector in enumerate(selectors):
        check_selector(selector, f"{field}[{index}]")
        if selector.decoration not in allowed:
            raise BadRequest(f"{field}[{index}].decoration must be one of {', '.join(allowed)}",
                             {"field": f"{field}[{index}].decoration"})


def check_rule(rule: RetentionRule, index: int) -> RetentionRule:
    """The rule with its parameters normalised; BadRequest naming the field otherwise."""
    field = f"rules[{index}]"
    if rule.template not in TEMPLATES:
        raise BadRequest(f"{field}.template must be one of {', '.join(TEMPLATES)}",
                         {"field": f"{field}.template"})
    if rule.action != "retain":
        raise BadRequest(f"{field}.action must be retain", {"field": f"{field}.action"})
    key = TEMPLATES[rule.template][0]
    params = {}
    if key is not None:
        if key not in rule.params:
            raise BadRequest(f"{field}.params.{key} is required by template {rule.template}",
                             {"field": f"{field}.params.{key}"})
        params[key] = _param(rule.params[key], f"{field}.params.{key}")
    if not rule.tag_selectors:
        raise BadRequest(f"{field}.tag_selectors: a rule needs a tag selector", {"field": f"{field}.tag_selectors"})
    _check_selectors(rule.tag_selectors, f"{field}.tag_selectors", ("matches", "excludes"))
    for position, selector in enumerate(rule.tag_selectors):
        untagged_option(selector, f"{field}.tag_selectors[{position}]")
    _check_selectors(rule.repository_selectors, f"{field}.scope_selectors.repository", INCLUDE + EXCLUDE)
    return msgspec.structs.replace(rule, id=index + 1, params=params)


def check_policy(spec: PolicySpec) -> PolicySpec:
    """The policy with rule ids 1..n and a normalised trigger; BadRequest naming the field otherwise."""
    if spec.algorithm != "or":
        raise BadRequest("algorithm must be or (an artifact any rule retains is kept)", {"field": "algorithm"})
    if len(spec.rules) > MAX_RULES:
        raise BadRequest(f"rules: at most {MAX_RULES} rules per policy", {"field": "rules"})
    trigger = TRIGGERS.get(spec.trigger.lower())
    if trigger is None:
        raise BadRequest("trigger.kind must be Schedule or Manual", {"field": "trigger.kind"})
    cron = spec.cron.strip()
    if cron:
        cron_fields(cron)
    if trigger == "Manual" and cron:
        raise BadRequest("trigger.settings.cron needs trigger.kind Schedule", {"field": "trigger.settings.cron"})
    rules = [check_rule(rule, index) for index, rule in enumerate(spec.rules)]
    return PolicySpec(rules=rules, trigger=trigger, cron=cron, algorithm="or")


class RetentionPolicy(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A project got a retention policy (its version 1)."""

        project: str
        project_id: int
        policy: dict
        policy_version: int

    class Recreated(RegistryAggregate.Event):
        """A project got a retention policy again, after the last one was deleted."""

        project: str
        project_id: int
        policy: dict
        policy_version: int

        def apply(self, aggregate: "RetentionPolicy") -> None:
            aggregate._assign(self.project_id, self.policy, self.policy_version)

    class Updated(RegistryAggregate.Event):
        """The retention policy was edited; the whole new policy and its version."""

        project: str
        project_id: int
        policy: dict
        policy_version: int

        def apply(self, aggregate: "RetentionPolicy") -> None:
            aggregate._assign(self.project_id, self.policy, self.policy_version)

    class Deleted(RegistryAggregate.Event):
        """The retention policy was deleted; no run uses it any more."""

        project: str
        project_id: int
        policy_version: int

        def apply(self, aggregate: "RetentionPolicy") -> None:
            aggregate.deleted = True

    def __init__(self, project: str, project_id: int, policy: dict, policy_version: int) -> None:
        self.project = project
        self._assign(project_id, policy, policy_version)

    def _assign(self, project_id: int, policy: dict, policy_version: int) -> None:
        self.project_id = project_id
        self.policy = msgspec.convert(policy, PolicySpec)
        self.policy_version = policy_version
        self.deleted = False

    @classmethod
    def create(cls, project: str, project_id: int, spec: PolicySpec, actor: Actor, *,
               generation: int) -> "RetentionPolicy":
        return cls._create(cls.Created, id=retention_id(project, generation), project=project,
                           project_id=project_id,
                           policy=msgspec.to_builtins(check_policy(spec)), policy_version=1,
                           **actor.fields())

    def bound_to(self, project_id: int) -> bool:
        """True while this policy is live for that incarnation of the project."""
        return not self.deleted and self.project_id == project_id

    def recreate(self, project_id: int, spec: PolicySpec, actor: Actor) -> None:
        """Bind a new policy; refused while one is bound to the same project."""
        if self.bound_to(project_id):
            raise Conflict("the project already has a retention policy; update it instead",
                           {"project": self.project})
        self.trigger_event(self.Recreated, project=self.project, project_id=project_id,
                           policy=msgspec.to_builtins(check_policy(spec)),
                           policy_version=self.policy_version + 1, **actor.fields())

    def update(self, spec: PolicySpec, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.Updated, project=self.project, project_id=self.project_id,
                           policy=msgspec.to_builtins(check_policy(spec)),
                           policy_version=self.policy_version + 1, **actor.fields())

    def delete(self, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.Deleted, project=self.project, project_id=self.project_id,
                           policy_version=self.policy_version, **actor.fields())

    def _alive(self) -> None:
        if self.deleted:
            raise NotFound("retention policy not found", {"project": self.project})
