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
