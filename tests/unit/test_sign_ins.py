"""Failed sign-ins as events and as audit rows: names cut and escaped, floods counted."""

from domain.base import SYSTEM
from domain.iam.sign_ins import MAX_NAME, SignInFailures, readable
from projections.audit.view import sign_in_rows


def failure(name: str, known: bool = False) -> dict:
    return {"name": name, "known": known, "door": "token", "client_ip": "203.0.113.7",
            "request_id": "r1", "at": 1_800_000_000.0}


def test_an_attempted_name_is_cut_and_an_event_never_holds_more():
    batch = SignInFailures.record([failure("x" * 100_000)], [], 0, SYSTEM)
    [event] = batch.collect_events()
    assert len(event.failures[0]["name"]) == MAX_NAME and event.failures[0]["name"].endswith("\u2026")


def test_names_are_shown_with_invisible_characters_escaped():
    assert readable("adm\u202ein\r\nFAKE LINE") == "adm\\u202ein\\u000d\\u000aFAKE LINE"
    assert readable("a\\u0041") == "a\\u005cu0041"  # a backslash cannot fake an escape
    assert readable("jürgen") == "jürgen"


def test_audit_rows_name_accounts_unknown_names_refusals_and_floods():
    refused = {"names": ["admin", "root"], "door": "rest", "count": 40, "first_at": 1_800_000_000.0,
               "last_at": 1_800_000_100.0, "client_ip": "203.0.113.7", "request_id": "r9"}
    batch = SignInFailures.record([failure("admin", known=True), failure("robot$ci", known=True),
                                   failure("oracle")], [refused], 7, SYSTEM)
    [event] = batch.collect_events()
    rows = sign_in_rows(event, 42)
    assert [(r[1], r[2], r[3], r[4], r[5], r[8]) for r in rows] == [
        (0, "anonymous", "admin", "user", "login_failed", "203.0.113.7"),
        (1, "anonymous", "robot$ci", "robot", "login_failed", "203.0.113.7"),
        (2, "anonymous", "oracle", "unknown_user", "login_failed", "203.0.113.7"),
        (3, "anonymous", "admin, root: 40 attempts refused while waiting", "user", "login_throttled",
         "203.0.113.7"),
        (4, "anonymous", "7 failed sign-ins not itemized (too many at once)", "user", "login_failed", ""),
    ]
