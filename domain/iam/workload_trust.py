"""Trust policies of keyless CI robots (ADR 0045): which outside OIDC issuer's ID tokens may
stand in for a robot's secret, and under which conditions.

A policy names one issuer (exact URL), the audience the token must hold, and conditions on
the workload: the subject (exact, or a glob where `*` matches any run of characters, as GitHub
Actions subjects `repo:org/app:ref:refs/heads/*` are written) and further claims (name ->
value, the same glob rule). Pure: the checks and the matching only; fetching keys and
verifying signatures is infra/auth/workload_identity.py's.
"""

import ipaddress
import re
from urllib.parse import urlsplit

import msgspec

from domain.errors import BadRequest
from domain.names import check_text

MAX_POLICIES = 10
MAX_CLAIMS = 10
MAX_URL = 255
MAX_VALUE = 255
MAX_MATCHED = 1024  # a claim longer than this matches no condition
CLAIM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}")
# Claims that verification decides (signature, times, issuer, audience) or that have a field
# of their own (`sub`): a condition on them would be misleading or ignored.
RESERVED_CLAIMS = frozenset({"iss", "aud", "sub", "exp", "nbf", "iat", "jti", "azp", "nonce"})


class TrustPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One outside issuer a robot trusts, and what its token must say."""

    issuer: str
    audience: str
    subject: str = ""  # empty: any subject (then a claim condition must narrow it)
    claims: dict[str, str] = {}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_issuer(url: str, allow_http_loopback: bool) -> str:
    """The issuer URL if it is https (http only to a loopback host, when allowed: tests), with
    no query, fragment or credentials; BadRequest otherwise."""
    field = {"field": "issuer"}
    if not url or len(url) > MAX_URL:
        raise BadRequest(f"issuer must be a URL of at most {MAX_URL} characters", field)
    check_text(url, "issuer")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise BadRequest("issuer is not a valid URL", field) from None
    if parts.scheme == "http" and allow_http_loopback and _is_loopback(host):
        pass
    elif parts.scheme != "https":
        raise BadRequest("issuer must be an https URL", field)
    if not host or parts.query or parts.fragment or "@" in parts.netloc or url.endswith("/") \
            or " " in url:
        raise BadRequest("issuer must be a plain URL (no credentials, query, fragment or "
                         "trailing slash), exactly as the tokens' iss claim says", field)
    return url


def _narrows(pattern: str) -> bool:
    """Whether a condition says anything: a value that is not only `*`."""
    return bool(pattern.replace("*", ""))


def check_policy(policy: TrustPolicy, allow_http_loopback: bool) -> TrustPolicy:
    check_issuer(policy.issuer, allow_http_loopback)
    for field, value in (("audience", policy.audience), ("subject", policy.subject)):
        if len(value) > MAX_VALUE:
            raise BadRequest(f"{field} may hold at most {MAX_VALUE} characters", {"field": field})
        check_text(value, field)
    if not policy.audience or "*" in policy.audience:
        raise BadRequest("audience is required, exactly as the tokens' aud claim holds it",
                         {"field": "audience"})
    if len(policy.claims) > MAX_CLAIMS:
        raise BadRequest(f"at most {MAX_CLAIMS} claim conditions", {"field": "claims"})
    for name, value in policy.claims.items():
        if not CLAIM_NAME.fullmatch(name) or name in RESERVED_CLAIMS:
            raise BadRequest("a claim condition names a claim (letters, digits, _ . : -; not "
                             "iss, aud, sub or a time)", {"field": "claims"})
        if not isinstance(value, str) or len(value) > MAX_VALUE or not value:
            raise BadRequest(f"a claim condition's value is 1 to {MAX_VALUE} characters",
                             {"field": "claims"})
        check_text(value, "claims")
    if not _narrows(policy.subject) and not any(_narrows(v) for v in policy.claims.values()):
        raise BadRequest("a policy must name the workload: a subject that is not only `*`, "
                         "or a claim condition", {"field": "subject"})
    return policy


def check_trust(policies: list[TrustPolicy], allow_http_loopback: bool) -> list[TrustPolicy]:
    """The policies, if each is valid and there are at most MAX_POLICIES distinct ones."""
    if len(policies) > MAX_POLICIES:
        raise BadRequest(f"a robot trusts at most {MAX_POLICIES} policies", {"field": "policies"})
    for policy in policies:
        check_policy(policy, allow_http_loopback)
    if len(set(msgspec.json.encode(p) for p in policies)) != len(policies):
        raise BadRequest("the same policy is given twice", {"field": "policies"})
    return policies


def glob_matches(pattern: str, value: str) -> bool:
    """`*` matches any run of characters (`/` and `:` too); everything else is literal. In
    O(len(pattern) * len(value)) steps, never a backtracking regular expression: the pattern is
    set by who may update the robot and the value comes from a token they may have issued, so
    `*a*a*a...` against `aaaa...` must not cost more. Values longer than MAX_MATCHED never match."""
    if len(value) > MAX_MATCHED:
        return False
    p = v = 0
    star, resume = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, v  # remember the star; first let it match nothing
            p += 1
        elif p < len(pattern) and pattern[p] == value[v]:
            p += 1
            v += 1
        elif star >= 0:  # let the last star take one more character
            resume += 1
            p, v = star + 1, resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _claim_text(value) -> str | None:
    """A claim as conditions compare it: strings as they are, booleans and integers as JSON
    writes them (GitHub's `run_attempt` is a string, some CI systems send numbers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return None


def audiences(claims: dict) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)] \
        if isinstance(aud, list) else []


def policy_matches(policy: TrustPolicy, claims: dict) -> str | None:
    """None if verified claims satisfy the policy, else a reason (naming no claim value)."""
    if claims.get("iss") != policy.issuer:
        return "issuer not trusted"
    if policy.audience not in audiences(claims):
        return "audience not trusted"
    subject = claims.get("sub")
    if not isinstance(subject, str) or (policy.subject and not glob_matches(policy.subject, subject)):
        return "subject does not match"
    for name, pattern in policy.claims.items():
        value = _claim_text(claims.get(name))
        if value is None or not glob_matches(pattern, value):
            return f"claim {name} does not match"
    return None


def first_refusal(policies: list[TrustPolicy], claims: dict) -> str | None:
    """None if any policy accepts the claims, else the reason of the policy that came closest
    (issuer, then audience, then subject, then claims)."""
    order = ("issuer", "audience", "subject", "claim")
    reasons = []
    for policy in policies:
        reason = policy_matches(policy, claims)
        if reason is None:
            return None
        reasons.append(reason)
    if not reasons:
        return "the robot trusts no issuer"
    return max(reasons, key=lambda r: next(i for i, word in enumerate(order) if r.startswith(word)))
