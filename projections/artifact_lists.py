"""Artifact and tag lists as Harbor filters, sorts and pages them (`q=`, `sort=`), now or as
of any log position: the conditions are SQL over the OCI and label query models, the same
text on SQLite and PostgreSQL."""

from datetime import datetime, timezone

from domain.artifacts.kinds import artifact_kind
from domain.errors import BadRequest
from domain.input_limits import is_decimal
from infra.schemas.query_language import Term, order_sql, parse_query, to_sql
from infra.store.sql import Database
from projections.audit.history import _ARTIFACT, ArtifactRow, TagRow, _artifact
from projections.times import parse_instant, stamp
from projections.view import in_project

ARTIFACT_KEYS = {"tags", "labels", "type", "media_type", "artifact_type", "digest", "push_time",
                 "pull_time"}
MEDIA = "COALESCE(m.artifact_type, m.media_type)"
PULLED = "COALESCE(pl.last_pulled_at, '')"
ARTIFACT_SORTS = {"push_time": "m.pushed_at", "pull_time": PULLED, "digest": "m.digest",
                  "media_type": MEDIA, "id": "m.valid_from", "repository_name": "m.repository"}
TAG_KEYS = {"name", "push_time"}
TAG_SORTS = {"name": "t.tag", "push_time": "t.moved_at", "id": "t.valid_from"}


def _valid(alias: str, position: int | None) -> tuple[str, list]:
    if position is None:
        return f"{alias}.valid_to IS NULL", []
    return f"{alias}.valid_from <= ? AND ({alias}.valid_to IS NULL OR {alias}.valid_to > ?)", \
        [position, position]


def _refuse(term: Term, expected: str) -> BadRequest:
    return BadRequest(f"q term {term.key!r}: {expected}", {"q": term.key})


def _instant(term: Term, text: str | None) -> str | None:
    """A time as the views store it: RFC 3339 (UTC when it names no zone, as the other lists
    read it) or seconds since the epoch."""
    if text is None:
        return None
    text = text.strip()
    try:
        if is_decimal(text) and len(text) < 12:
            return stamp(datetime.fromtimestamp(int(text), timezone.utc))
        if len(text) == 10:
            text += "T00:00:00Z"  # a date: its start, in UTC
        elif not any(zone in text[10:] for zone in ("Z", "z", "+", "-")):
            text += "Z"
        return stamp(parse_instant(text))
    except (BadRequest, ValueError, OverflowError, OSError):
        raise _refuse(term, f"{text[:40]!r} is not a time (RFC 3339 or seconds since the epoch)") from None


def _sql(terms: list[Term], columns: dict[str, str]) -> tuple[str, list]:
    """to_sql, with `k=~v` matching in part whatever the case (as the other lists do)."""
    clauses, params = [], []
    for term in terms:
        if term.op == "fuzzy":
            clauses.append(f"LOWER({columns[term.key]}) LIKE ?")
            params.append(f"%{str(term.value).lower()}%")
        else:
            clause, values = to_sql([term], columns)
            clauses.append(clause)
            params += values
    return " AND ".join(clauses) or "1 = 1", params


def _time_term(term: Term) -> Term:
    if term.op == "range":
        low, high = term.value
        return Term(term.key, "range", (_instant(term, low), _instant(term, high)))
    if term.op == "eq":
        return Term(term.key, "eq", _instant(term, term.value))
    raise _refuse(term, "a time takes an exact value or a range [a~b]")


def _label_ids(term: Term) -> list[int]:
    values = [term.value] if term.op == "eq" else list(term.value) if term.op == "in" else None
    if values is None or not all(v.isascii() and v.isdigit() and len(v) < 19 for v in values):
        raise _refuse(term, "labels takes label ids: labels=3 or labels={3 4} (all of them)")
    return [int(v) for v in values]


class ArtifactLists:
    def __init__(self, db: Database, prefix: str = "oci_", label_prefix: str = "label_") -> None:
        self.db = db
        self.p = prefix
        self.lp = label_prefix

    def _tag_condition(self, term: Term, position: int | None) -> tuple[str, list]:
        valid, vparams = _valid("t", position)
        inside = (f"SELECT 1 FROM {self.p}tags t WHERE t.repository = m.repository "
                  f"AND t.digest = m.digest AND {valid}")
        if term.op == "eq" and term.value in ("*", "nil"):
            return ("EXISTS" if term.value == "*" else "NOT EXISTS") + f" ({inside})", vparams
        if term.op == "range":
            raise _refuse(term, "tags takes *, nil, a name, ~part or a set {a b}")
        where, params = _sql([Term("tags", term.op, term.value)], {"tags": "t.tag"})
        return f"EXISTS ({inside} AND {where})", [*vparams, *params]

    def _label_condition(self, term: Term, position: int | None) -> tuple[str, list]:
        valid, vparams = _valid("a", position)
        clauses, params = [], []
        for label_id in _label_ids(term):
            clauses.append(f"EXISTS (SELECT 1 FROM {self.lp}artifact_labels a WHERE a.repository = "
                           f"m.repository AND a.digest = m.digest AND a.label = ? AND {valid})")
            params += [label_id, *vparams]
        return " AND ".join(clauses), params

    def _type_condition(self, term: Term, scope: tuple[str, list]) -> tuple[str, list]:
        """Harbor's type is derived (domain/artifacts/kinds.py): the few (media type, artifact
        type) pairs of the scope that have the wanted type."""
        if term.op == "range":
            raise _refuse(term, "type takes a value, ~part or a set {a b}")
        pairs = self.db.read(f"SELECT DISTINCT m.media_type, COALESCE(m.artifact_type, '') "
                             f"FROM {self.p}manifests m WHERE {scope[0]}", scope[1])

        def wanted(kind: str) -> bool:
            if term.op == "fuzzy":
                return term.value.upper() in kind
            return kind in (term.value if term.op == "in" else (term.value,))
        chosen = [(media, kind_of) for media, kind_of in pairs if wanted(artifact_kind(media, kind_of or None))]
        if not chosen:
            return "1 = 0", []
        return ("(" + " OR ".join("(m.media_type = ? AND COALESCE(m.artifact_type, '') = ?)" for _ in chosen)
                + ")", [value for pair in chosen for value in pair])

    def _conditions(self, terms: list[Term], scope: tuple[str, list],
                    position: int | None) -> tuple[list[str], list]:
        clauses, params = [], []
        columns = {"media_type": MEDIA, "artifact_type": "m.artifact_type", "digest": "m.digest",
                   "push_time": "m.pushed_at", "pull_time": "pl.last_pulled_at"}
        for term in terms:
            if term.key == "tags":
                clause, values = self._tag_condition(term, position)
            elif term.key == "labels":
                clause, values = self._label_condition(term, position)
            elif term.key == "type":
                clause, values = self._type_condition(term, scope)
            else:
                if term.key in ("push_time", "pull_time"):
                    term = _time_term(term)
                clause, values = _sql([term], columns)
            clauses.append(clause)
            params += values
        return clauses, params

    def artifacts(self, scope: tuple[str, list], q: str | None, sort: str | None, offset: int,
                  limit: int, position: int | None,
                  latest_in_repository: bool = False) -> tuple[list[tuple[ArtifactRow, str | None]], int]:
        """(artifact, last pull time) pairs of the scope (an SQL condition on `m`, see
        `repository` and `project`) matching Harbor's `q`, in `sort` order, and their count."""
        terms = parse_query(q, ARTIFACT_KEYS)
        order = order_sql(sort, ARTIFACT_SORTS, "m.pushed_at DESC, m.valid_from DESC")
        valid, vparams = _valid("m", position)
        clauses, params = self._conditions(terms, scope, position)
        where = " AND ".join([scope[0], valid, *clauses])
        params = [*scope[1], *vparams, *params]
        if latest_in_repository and any(t.key in ("media_type", "artifact_type") for t in terms):
            # Harbor's rule: only with a media_type or artifact_type filter, the newest per repository
            # (the same conditions on the aliases m2 and pl2: no other alias ends in m or pl)
            later = where.replace("m.", "m2.").replace("pl.", "pl2.")
            where += (f" AND NOT EXISTS (SELECT 1 FROM {self.p}manifests m2 LEFT JOIN {self.p}pulls pl2 "
                      "ON pl2.repository = m2.repository AND pl2.digest = m2.digest "
                      f"WHERE m2.repository = m.repository AND m2.valid_from > m.valid_from AND {later})")
            params = [*params, *params]
        source = (f"{self.p}manifests m LEFT JOIN {self.p}pulls pl ON pl.repository = m.repository "
                  "AND pl.digest = m.digest")
        total = self.db.read(f"SELECT COUNT(*) FROM {source} WHERE {where}", params)[0][0]
        columns = ", ".join(f"m.{c.strip()}" for c in _ARTIFACT.split(","))
        rows = self.db.read(f"SELECT {columns}, pl.last_pulled_at FROM {source} WHERE {where} "
                            f"ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset])
        return [(_artifact(row[:12]), row[12]) for row in rows], total

    def tags(self, repository: str, digest: str, q: str | None, sort: str | None, offset: int,
             limit: int, position: int | None) -> tuple[list[TagRow], int]:
        """The tags of one artifact matching Harbor's `q` (name, push_time), in `sort` order."""
        terms = [_time_term(t) if t.key == "push_time" else t for t in parse_query(q, TAG_KEYS)]
        order = order_sql(sort, TAG_SORTS, "t.moved_at DESC, t.valid_from DESC")
        valid, vparams = _valid("t", position)
        filters, fparams = _sql(terms, {"name": "t.tag", "push_time": "t.moved_at"})
        where = f"t.repository = ? AND t.digest = ? AND {valid} AND {filters}"
        params = [repository, digest, *vparams, *fparams]
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}tags t WHERE {where}", params)[0][0]
        rows = self.db.read(
            f"SELECT t.valid_from, t.repository, t.tag, t.digest, t.moved_at, t.moved_by, t.valid_to, "
            f"e.at FROM {self.p}tags t LEFT JOIN {self.p}event_times e ON e.position = t.valid_to "
            f"WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset])
        return [TagRow(*row) for row in rows], total

    def pulled_at(self, repository: str, digest: str) -> str | None:
        rows = self.db.read(f"SELECT last_pulled_at FROM {self.p}pulls WHERE repository = ? AND digest = ?",
                            (repository, digest))
        return rows[0][0] if rows else None

    def repository_ids(self, names: list[str]) -> dict[str, int]:
        if not names:
            return {}
        rows = self.db.read(f"SELECT name, position FROM {self.p}repositories WHERE name IN "
                            f"({', '.join('?' for _ in names)})", names)
        return dict(rows)


def repository(name: str) -> tuple[str, list]:
    return "m.repository = ?", [name]


def project(name: str) -> tuple[str, list]:
    return in_project("m.repository", name)
