"""Which artifacts of one repository a retention policy keeps: a pure function.

Harbor's semantics: the rules whose repository selectors pick the repository
apply to it; each rule's tag selectors pick artifacts and its template keeps
some of them; an artifact any rule keeps is retained, every other artifact of
the repository is deleted. An artifact carrying an immutable tag is always
retained. A repository no rule's scope picks is left alone.
"""

from typing import Callable, Iterable

import msgspec

from domain.retention.policy import RetentionRule, untagged_option
from domain.selectors import selected

DAY = 86_400.0


class Candidate(msgspec.Struct, frozen=True):
    """An artifact as retention sees it: its tags and when it was last pushed and pulled (epoch s)."""

    digest: str
    tags: list[str]
    pushed_at: float
    pulled_at: float | None = None


class Verdict(msgspec.Struct, frozen=True):
    """What the policy decided for one artifact, which rule decided it (None: no rule) and why."""

    digest: str
    tags: list[str]
    action: str  # retain | delete
    rule: int | None
    reason: str


def applicable(rules: Iterable[RetentionRule], repository_path: str) -> list[RetentionRule]:
    """The enabled rules whose repository selectors pick the repository (path without the project)."""
    return [r for r in rules if not r.disabled and selected(r.repository_selectors, repository_path)]


def picks(rule: RetentionRule, candidate: Candidate) -> bool:
    """Harbor's tag selection: an untagged artifact only with the untagged extra; a tagged one
    when any of its tags passes each selector (`excludes` passes tags that do not match)."""
    for selector in rule.tag_selectors:
        if not candidate.tags:
            if not untagged_option(selector):
                return False
        elif not any(selected([selector], tag) for tag in candidate.tags):
            return False
    return True


def keep(rule: RetentionRule, picked: list[Candidate], now: float) -> list[Candidate]:
    """The artifacts among those picked that the rule's template retains."""
    n = rule.param
    if rule.template == "always":
        return picked
    if rule.template == "latestPushedK":
        return sorted(picked, key=lambda c: (c.pushed_at, c.digest), reverse=True)[:n]
    if rule.template == "latestPulledN":  # as Harbor: never pulled sorts last but may fill the N
        return sorted(picked, key=lambda c: (c.pulled_at or 0.0, c.pushed_at, c.digest), reverse=True)[:n]
    if rule.template == "nDaysSinceLastPush":
        return [c for c in picked if c.pushed_at >= now - n * DAY]
    if rule.template == "nDaysSinceLastPull":
        return [c for c in picked if c.pulled_at is not None and c.pulled_at >= now - n * DAY]
    raise ValueError(f"unknown retention template {rule.template}")


def evaluate(rules: list[RetentionRule], repository_path: str, candidates: list[Candidate], now: float,
             protected: Callable[[str], bool] = lambda tag: False) -> list[Verdict] | None:
    """One verdict per candidate, or None when no rule applies to the repository.

    `now` is the evaluation instant (epoch seconds) for the day-based templates;
    `protected(tag)` says whether an immutability rule protects a tag of this repository.
    """
    here = applicable(rules, repository_path)
    if not here:
        return None
    kept_by: dict[str, RetentionRule] = {}
    picked_by: dict[str, RetentionRule] = {}
    for rule in here:
        picked = [c for c in candidates if picks(rule, c)]
        for candidate in picked:
            picked_by.setdefault(candidate.digest, rule)
        for candidate in keep(rule, picked, now):
            kept_by.setdefault(candidate.digest, rule)
    verdicts = []
    for candidate in candidates:
        tags = list(candidate.tags)
        rule = kept_by.get(candidate.digest)
        if rule is not None:
            verdicts.append(Verdict(candidate.digest, tags, "retain", rule.id, rule.describe()))
            continue
        guarded = next((tag for tag in tags if protected(tag)), None)
        if guarded is not None:
            verdicts.append(Verdict(candidate.digest, tags, "retain", None, f"immutable tag {guarded}"))
            continue
        decider = picked_by.get(candidate.digest)
        if decider is not None:
            verdicts.append(Verdict(candidate.digest, tags, "delete", decider.id,
                                    f"not retained by {decider.describe()}"))
        else:
            verdicts.append(Verdict(candidate.digest, tags, "delete", here[0].id,
                                    "in scope, but no rule's tag selectors pick it"))
    return verdicts
