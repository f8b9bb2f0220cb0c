"""Wire shapes of Harbor's immutability, retention and quota APIs."""

import msgspec


class SelectorBody(msgspec.Struct):
    kind: str = "doublestar"
    decoration: str = "matches"
    pattern: str = ""
    extras: str = ""


class ImmutableRuleBody(msgspec.Struct):
    tag_selectors: list[SelectorBody]
    scope_selectors: dict[str, list[SelectorBody]] = {}
    id: int = 0
    priority: int = 0
    disabled: bool = False
    action: str = "immutable"
    template: str = "immutable_template"
    params: dict = {}


class ImmutableRuleUpdate(msgspec.Struct):
    """A PUT of a rule: the fields sent change, the others stay (Harbor's clients send just
    `{"disabled": true}` to toggle a rule)."""

    tag_selectors: list[SelectorBody] | msgspec.UnsetType = msgspec.UNSET
    scope_selectors: dict[str, list[SelectorBody]] | msgspec.UnsetType = msgspec.UNSET
    priority: int | msgspec.UnsetType = msgspec.UNSET
    disabled: bool | msgspec.UnsetType = msgspec.UNSET
    id: int = 0
    action: str = "immutable"
    template: str = "immutable_template"
    params: dict = {}


class RetentionRuleBody(msgspec.Struct):
    template: str = ""
    params: dict = {}
    tag_selectors: list[SelectorBody] = []
    scope_selectors: dict[str, list[SelectorBody]] = {}
    id: int = 0
    priority: int = 0
    disabled: bool = False
    action: str = "retain"


class RetentionTriggerBody(msgspec.Struct):
    kind: str = "Schedule"
    settings: dict = {}
    references: dict = {}


class RetentionScopeBody(msgspec.Struct):
    level: str = "project"
    ref: int = 0


class RetentionPolicyBody(msgspec.Struct):
    rules: list[RetentionRuleBody] = []
    trigger: RetentionTriggerBody | None = None
    scope: RetentionScopeBody | None = None
    algorithm: str = "or"
    id: int = 0


class RetentionExecutionBody(msgspec.Struct):
    dry_run: bool = False
    at: str | None = None  # Tidemark: evaluate a dry run against a past position or time


class RetentionActionBody(msgspec.Struct):
    action: str = ""
