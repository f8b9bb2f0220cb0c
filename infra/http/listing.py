"""Harbor's list behaviour in one place: `q=` filters, `sort=` and `page`/`page_size` over the
answers a list handler built, with `X-Total-Count` and `Link` on every page.

A list names the keys a caller may filter and sort by, each with its kind, and (where Harbor's
key differs from the answer's field) the field it reads. Filtering runs on what the caller would
see, so a `q=` term can never match something the answer does not show. Unknown keys, values of
the wrong kind and unparseable terms are 400s naming the key.
"""

from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import anyio.to_thread
import msgspec
from litestar import Request, Response

from domain.errors import BadRequest
from infra.http.rest import paged, paging
from infra.schemas.query_language import Term, parse_query

STR, INT, BOOL, TIME = "str", "int", "bool", "time"
EVERY = 1 << 62  # a limit meaning "all of them" that both SQLite and PostgreSQL accept


class Key(msgspec.Struct, frozen=True):
    kind: str = STR
    field: str | None = None  # the answer's field, when Harbor's key is named otherwise
    read: Callable[[Any], Any] | None = None  # or how to read it from an answer


def _time(value: Any, key: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text), timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise BadRequest(f"q key {key!r}: {text[:40]!r} is not a time (ISO 8601 or seconds since "
                         "the epoch)", {"q": key}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _typed(kind: str, value: Any, key: str) -> Any:
    """A q value (a string) or an answer's value as the key's kind, for comparing."""
    if kind == INT:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BadRequest(f"q key {key!r}: {str(value)[:40]!r} is not an integer", {"q": key}) from None
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise BadRequest(f"q key {key!r}: {text[:40]!r} is not true or false", {"q": key})
    if kind == TIME:
        return _time(value, key)
    return "" if value is None else str(value)


class Listing:
    """The filterable and sortable keys of one list."""

    def __init__(self, keys: dict[str, Key], sorts: Iterable[str] | None = None) -> None:
        self.keys = keys
        self.sorts = set(keys if sorts is None else sorts)

    def _read(self, item: Any, key: str) -> Any:
        spec = self.keys[key]
        if spec.read is not None:
            return spec.read(item)
        name = spec.field or key
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    def _matches(self, item: Any, term: Term) -> bool:
        kind = self.keys[term.key].kind
        raw = self._read(item, term.key)
        values = raw if isinstance(raw, (list, tuple, set)) else [raw]
        values = [_typed(kind, v, term.key) for v in values if v is not None or kind == STR]
        if term.op == "fuzzy":
            needle = str(term.value).lower()
            return any(needle in str(v).lower() for v in values)
        if term.op == "eq":
            wanted = _typed(kind, term.value, term.key)
            return any(v == wanted for v in values)
        if term.op == "in":
            wanted = {_typed(kind, v, term.key) for v in term.value}
            return any(v in wanted for v in values)
        low, high = (None if v is None else _typed(kind, v, term.key) for v in term.value)
        return any((low is None or v >= low) and (high is None or v <= high) for v in values)

    def filter(self, items: list, q: str | None, skip: Iterable[str] = ()) -> list:
        """The items every term of `q` matches; `skip` names keys the handler applied itself."""
        terms = [t for t in parse_query(q, set(self.keys)) if t.key not in set(skip)]
        for term in terms:  # check every value before reading any item: a bad one is a 400
            if term.op == "eq":
                _typed(self.keys[term.key].kind, term.value, term.key)
            elif term.op == "in":
                [_typed(self.keys[term.key].kind, v, term.key) for v in term.value]
            elif term.op == "range":
                [_typed(self.keys[term.key].kind, v, term.key) for v in term.value if v is not None]
        return [item for item in items if all(self._matches(item, t) for t in terms)]

    def sort(self, items: list, sort: str | None) -> list:
        """Harbor's `sort`: keys separated by commas, `-` for descending; stable otherwise."""
        keys = [k.strip() for k in (sort or "").split(",") if k.strip()]
        for key in keys:
            if key.lstrip("-") not in self.sorts:
                raise BadRequest(f"cannot sort by {key[:40]!r}; known: {', '.join(sorted(self.sorts))}",
                                 {"sort": key[:40]})
        ordered = list(items)
        for key in reversed(keys):
            name = key.lstrip("-")
            kind = self.keys[name].kind

            def value(item, name=name, kind=kind):
                raw = self._read(item, name)
                return (raw is None, _typed(kind, raw, name) if raw is not None else 0)
            present = [i for i in ordered if self._read(i, name) is not None]
            absent = [i for i in ordered if self._read(i, name) is None]
            present.sort(key=value, reverse=key.startswith("-"))
            ordered = present + absent
        return ordered

    def answer(self, request: Request, items: list, q: str | None = None, sort: str | None = None,
               page: int = 1, page_size: int = 10, skip: Iterable[str] = ()) -> Response:
        """Filter, sort and page a whole list into Harbor's answer."""
        offset, limit = paging(page, page_size)
        chosen = self.sort(self.filter(items, q, skip), sort)
        return paged(request, chosen[offset:offset + limit], len(chosen), page, page_size)

    async def answer_rows(self, request: Request, rows: Callable[[int, int], tuple[list, int]],
                          render: Callable[[Any], Any], q: str | None, sort: str | None,
                          page: int, page_size: int) -> Response:
        """For lists that may be long (deliveries, runs): the store pages them unless `q` or
        `sort` asks for more, then the whole list is filtered here. `rows(offset, limit)`
        answers one page and the total."""
        offset, limit = paging(page, page_size)
        if not q and not sort:
            found, total = await anyio.to_thread.run_sync(rows, offset, limit)
            return paged(request, [render(r) for r in found], total, page, page_size)
        found, _ = await anyio.to_thread.run_sync(rows, 0, EVERY)
        return self.answer(request, [render(r) for r in found], q, sort, page, page_size)



_PAGING = (b"page", b"page_size")


def default_empty_paging(app):
    """An empty `page=` or `page_size=` means the default, as in Harbor (scripts build query
    strings from unset variables): the parameter is dropped before the router reads it."""
    async def wrapped(scope, receive, send) -> None:
        query = scope.get("query_string") or b""
        if scope["type"] == "http" and query and scope.get("path", "").startswith("/api/"):
            parts = [p for p in query.split(b"&") if p not in (b"page=", b"page_size=") and p not in _PAGING]
            if len(parts) != query.count(b"&") + 1:
                scope = {**scope, "query_string": b"&".join(parts)}
        await app(scope, receive, send)
    return wrapped
