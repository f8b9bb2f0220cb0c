"""A record's severity in Harbor's words, from its CVSS vectors or the words its database uses.

CVSS base scores are computed by the `cvss` library (v2, v3.x and v4), and mapped with the
CVSS qualitative scale (0.1-3.9 Low, 4.0-6.9 Medium, 7.0-8.9 High, 9.0-10 Critical). A record
without a vector may still say how bad it is in words (GitHub's LOW / MODERATE / HIGH /
CRITICAL, Ubuntu's priorities); anything else is Unknown, never a guess.
"""

from typing import Any

import msgspec
from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

WORDS = {
    "negligible": "Low", "unimportant": "Low", "low": "Low",
    "moderate": "Medium", "medium": "Medium",
    "important": "High", "high": "High",
    "critical": "Critical",
}
CALCULATORS = {"CVSS_V2": CVSS2, "CVSS_V3": CVSS3, "CVSS_V4": CVSS4}


class Cvss(msgspec.Struct, frozen=True, omit_defaults=True):
    """The vectors of a record and their base scores (Harbor's `preferred_cvss` shape)."""

    score_v3: float | None = None
    vector_v3: str = ""
    score_v2: float | None = None
    vector_v2: str = ""
    score_v4: float | None = None
    vector_v4: str = ""


def from_score(score: float) -> str:
    """Harbor's severity for a CVSS base score."""
    if score >= 9.0:
        return "Critical"
    if score >= 7.0:
        return "High"
    if score >= 4.0:
        return "Medium"
    if score > 0.0:
        return "Low"
    return "Unknown"


def _score(kind: str, vector: str) -> float | None:
    try:
        return float(CALCULATORS[kind](vector).base_score)
    except (CVSSError, KeyError, ValueError, ArithmeticError):
        return None


def cvss_of(entries: list[dict] | None) -> Cvss:
    """Scores of the CVSS vectors in an OSV `severity` list (a vector that cannot be read
    is left out)."""
    found: dict[str, Any] = {}
    for entry in entries or []:
        kind, vector = entry.get("type", ""), entry.get("score", "")
        suffix = {"CVSS_V2": "v2", "CVSS_V3": "v3", "CVSS_V4": "v4"}.get(kind)
        if suffix is None or f"score_{suffix}" in found:
            continue
        score = _score(kind, vector)
        if score is not None:
            found[f"score_{suffix}"], found[f"vector_{suffix}"] = score, vector
    return Cvss(**found)


def _words(*places: Any) -> str | None:
    for place in places:
        if isinstance(place, dict):
            word = place.get("severity")
            if isinstance(word, str) and word.strip().lower() in WORDS:
                return WORDS[word.strip().lower()]
    return None


def severity_of(record: dict, affected: dict | None = None) -> tuple[str, Cvss]:
    """Harbor's severity of a record (for one of its `affected` entries, whose own severity
    comes first) and the CVSS details it came from."""
    affected = affected or {}
    cvss = cvss_of(affected.get("severity")) if affected.get("severity") else Cvss()
    if cvss == Cvss():
        cvss = cvss_of(record.get("severity"))
    for score in (cvss.score_v3, cvss.score_v4, cvss.score_v2):
        if score is not None:
            return from_score(score), cvss
    for entry in (affected.get("severity") or []) + (record.get("severity") or []):
        if entry.get("type") == "Ubuntu" and entry.get("score", "").lower() in WORDS:
            return WORDS[entry["score"].lower()], cvss
    word = _words(affected.get("ecosystem_specific"), affected.get("database_specific"),
                  record.get("database_specific"))
    return (word or "Unknown"), cvss
