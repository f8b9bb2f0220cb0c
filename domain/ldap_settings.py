"""What makes an LDAP setting usable, checked before it is stored or tried (ADR 0042): the
URL's form, distinguished names (RFC 4514), attribute names and filters (RFC 4515)."""

import re
from urllib.parse import urlsplit

from domain.errors import BadRequest

ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9\-]{0,127}|[0-9]+(?:\.[0-9]+)+")
TLS_SCHEMES = {"ldap": "", "ldaps": "ldaps", "ldap+starttls": "starttls"}
_RDN_PART = re.compile(r"\s*([A-Za-z][A-Za-z0-9\-]*|[0-9]+(?:\.[0-9]+)+)\s*=(.*)", re.DOTALL)


def endpoint(url: str, key: str = "ldap_url") -> tuple[str, int, str]:
    """(host, port, tls) of `ldap://`, `ldaps://`, `ldap+starttls://` or a bare host[:port];
    tls is "", "ldaps" or "starttls"."""
    text = url.strip()
    if "://" not in text:
        text = "ldap://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme.lower() not in TLS_SCHEMES or not parts.hostname
            or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username):
        raise BadRequest(f"{key} must be ldap://host[:port], ldaps://host[:port] or "
                         "ldap+starttls://host[:port]", {"field": key})
    tls = TLS_SCHEMES[parts.scheme.lower()]
    return parts.hostname, port or (636 if tls == "ldaps" else 389), tls


def _split(text: str, separators: str) -> list[str]:
    """Split at separators not escaped with a backslash."""
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            current, escaped = current + char, True
        elif char in separators:
            parts, current = parts + [current], ""
        else:
            current += char
    if escaped:
        raise ValueError("trailing backslash")
    return parts + [current]


def check_dn(dn: str, key: str) -> str:
    """A distinguished name of `type=value` parts (RFC 4514, escapes kept), else BadRequest."""
    try:
        for rdn in _split(dn, ","):
            for part in _split(rdn, "+"):
                match = _RDN_PART.fullmatch(part)
                if match is None or not match.group(2).strip():
                    raise ValueError(part)
    except ValueError:
        raise BadRequest(f"{key} is not a distinguished name (RFC 4514), such as "
                         "dc=example,dc=com", {"field": key})
    return dn


def _unescaped(value: str) -> str:
    """An RDN value with its RFC 4514 escapes (\\, and \\2c) read."""
    out, i = bytearray(), 0
    while i < len(value):
        if value[i] == "\\" and re.fullmatch(r"[0-9A-Fa-f]{2}", value[i + 1:i + 3]):
            out.append(int(value[i + 1:i + 3], 16))
            i += 3
        elif value[i] == "\\" and i + 1 < len(value):
            out += value[i + 1].encode()
            i += 2
        else:
            out += value[i].encode()
            i += 1
    return out.decode(errors="replace")


def dn_parts(dn: str) -> list[tuple[tuple[str, str], ...]]:
    """A DN as comparable RDNs (types and values case-folded, spaces trimmed, escapes read);
    BadRequest if it is none."""
    check_dn(dn, "dn")
    parts = []
    for rdn in _split(dn, ","):
        pairs = []
        for part in _split(rdn, "+"):
            match = _RDN_PART.fullmatch(part)
            pairs.append((match.group(1).lower(), _unescaped(match.group(2).strip()).lower()))
        parts.append(tuple(sorted(pairs)))
    return parts


def same_dn(a: str, b: str) -> bool:
    """DNs compared as RFC 4514 values, not as text."""
    try:
        return dn_parts(a) == dn_parts(b)
    except BadRequest:
        return False


def under(dn: str, base: str) -> bool:
    """Whether `dn` is `base` or an entry below it."""
    try:
        entry, root = dn_parts(dn), dn_parts(base)
    except BadRequest:
        return False
    return len(entry) >= len(root) and entry[len(entry) - len(root):] == root


def check_attribute(name: str, key: str) -> str:
    if name and not ATTRIBUTE.fullmatch(name):
        raise BadRequest(f"{key} must be an attribute name", {"field": key})
    return name


def normalized_filter(text: str, key: str) -> str:
    """An administrator's filter, parenthesized (Harbor accepts `objectClass=person` too);
    its parentheses must balance, so it cannot close the filter it is put in."""
    text = text.strip()
    if not text:
        return ""
    if not text.startswith("("):
        text = f"({text})"
    depth, escaped = 0, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
            continue
        if char == "\\":
            escaped = True
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0 or (depth == 0 and i != len(text) - 1):
            raise BadRequest(f"{key} must be one LDAP filter (RFC 4515), such as "
                             "(objectClass=person)", {"field": key})
    if depth or "=" not in text:
        raise BadRequest(f"{key} must be one LDAP filter (RFC 4515), such as (objectClass=person)",
                         {"field": key})
    return text
