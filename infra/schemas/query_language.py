"""Harbor's `q=` query language: `k=v` exact, `k=~v` fuzzy, `k=[a~b]` range, `k={a b c}` set,
terms separated by commas. Errors name the offending term."""

import re

import msgspec

from domain.errors import BadRequest

_TERM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=(~?)(.*)", re.S)


class Term(msgspec.Struct, frozen=True):
    key: str
    op: str  # "eq", "fuzzy", "range", "in"
    value: str | tuple[str | None, str | None] | tuple[str, ...]


def _split(q: str) -> list[str]:
    """Split on commas that are not inside [...] or {...}."""
    parts, depth, current = [], 0, []
    for char in q:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def parse_query(q: str | None, allowed: set[str]) -> list[Term]:
    terms: list[Term] = []
    for part in _split(q or ""):
        match = _TERM.fullmatch(part)
        if not match:
            raise BadRequest(f"cannot parse q term {part.strip()[:80]!r}: expected key=value", {"q": part[:80]})
        key, fuzzy, value = match.group(1), match.group(2), match.group(3).strip()
        if key not in allowed:
            raise BadRequest(f"unknown q key {key!r}; known: {', '.join(sorted(allowed))}", {"q": key})
        if fuzzy:
            terms.append(Term(key, "fuzzy", value))
        elif value.startswith("["):
            if not value.endswith("]") or "~" not in value:
                raise BadRequest(f"range in q term {part.strip()[:80]!r} must look like [a~b]", {"q": part[:80]})
            low, high = (v.strip() or None for v in value[1:-1].split("~", 1))
            terms.append(Term(key, "range", (low, high)))
        elif value.startswith("{"):
            if not value.endswith("}"):
                raise BadRequest(f"set in q term {part.strip()[:80]!r} must look like {{a b}}", {"q": part[:80]})
            terms.append(Term(key, "in", tuple(v for v in value[1:-1].split() if v)))
        else:
            terms.append(Term(key, "eq", value))
    return terms


def to_sql(terms: list[Term], columns: dict[str, str]) -> tuple[str, list]:
    """SQL conditions (joined with AND) and their parameters."""
    clauses, params = [], []
    for term in terms:
        column = columns[term.key]
        if term.op == "eq":
            clauses.append(f"{column} = ?")
            params.append(term.value)
        elif term.op == "fuzzy":
            clauses.append(f"{column} LIKE ?")
            params.append(f"%{term.value}%")
        elif term.op == "range":
            low, high = term.value
            if low is not None:
                clauses.append(f"{column} >= ?")
                params.append(low)
            if high is not None:
                clauses.append(f"{column} <= ?")
                params.append(high)
        else:
            clauses.append(f"{column} IN ({', '.join('?' for _ in term.value) or 'NULL'})")
            params.extend(term.value)
    return " AND ".join(clauses) or "1 = 1", params


def order_sql(sort: str | None, columns: dict[str, str], tail: str) -> str:
    """Harbor's `sort` (`push_time`, `-push_time`, comma separated, `-` for descending) as an
    SQL ORDER BY list ending in `tail`; an unknown key is a 400 naming it."""
    parts = []
    for key in filter(None, (part.strip() for part in (sort or "").split(","))):
        column = columns.get(key.lstrip("-"))
        if column is None:
            raise BadRequest(f"cannot sort by {key[:40]!r}; known: {', '.join(sorted(columns))}",
                             {"sort": key[:40]})
        parts.append(column + (" DESC" if key.startswith("-") else ""))
    return ", ".join([*parts, tail])
