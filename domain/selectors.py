"""Repository and tag selectors as Harbor's rules have them, plus regular expressions.

`doublestar` patterns use wcmatch's glob matching (`**`, `*`, `?`, `{a,b}`,
`[...]`), a pure function library; `regex` patterns are Python regular
expressions that must match the whole name.
"""

import re
from functools import lru_cache

import msgspec
from wcmatch import glob

from domain.errors import BadRequest

KINDS = ("doublestar", "regex")
INCLUDE = ("matches", "repoMatches")
EXCLUDE = ("excludes", "repoExcludes")
_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB


class Selector(msgspec.Struct, frozen=True):
    kind: str
    decoration: str
    pattern: str
    extras: str = ""


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def check_selector(selector: Selector, field: str) -> Selector:
    if selector.kind not in KINDS:
        raise BadRequest(f"{field}.kind must be doublestar or regex", {"field": f"{field}.kind"})
    if selector.decoration not in INCLUDE + EXCLUDE:
        raise BadRequest(f"{field}.decoration must be matches or excludes", {"field": f"{field}.decoration"})
    if not selector.pattern or len(selector.pattern) > 1024:
        raise BadRequest(f"{field}.pattern is required", {"field": f"{field}.pattern"})
    try:
        if selector.kind == "regex":
            _regex(selector.pattern)
        else:
            glob.translate(selector.pattern, flags=_FLAGS)
    except (re.error, ValueError) as error:
        raise BadRequest(f"{field}.pattern does not parse: {error}", {"field": f"{field}.pattern"})
    return selector


def _matches(selector: Selector, value: str) -> bool:
    if selector.kind == "regex":
        return _regex(selector.pattern).fullmatch(value) is not None
    return glob.globmatch(value, selector.pattern, flags=_FLAGS)


def selected(selectors: list[Selector], value: str) -> bool:
    """True when the value passes every selector (no selectors selects everything)."""
    for selector in selectors:
        hit = _matches(selector, value)
        if (selector.decoration in INCLUDE) != hit:
            return False
    return True
