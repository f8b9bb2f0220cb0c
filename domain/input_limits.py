"""Limits on values that come from outside, checked once here for every door.

Integers must fit the 64-bit columns of SQLite and PostgreSQL; a number given as text is
ASCII digits only (`str.isdigit` also accepts `²` and `①`, which `int` refuses, and `int`
accepts `١٢`, ` 12` and `1_2`); JSON is nested at most `MAX_JSON_DEPTH` levels, well
below the depth at which a recursive parser or encoder runs out of stack.
"""

import re

from domain.errors import BadRequest, RegistryError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# A position names an event; the one after it must still fit (readers ask for position + 1).
MAX_POSITION = INT64_MAX - 1
MAX_JSON_DEPTH = 64

_DIGITS = re.compile(r"[0-9]+")


def is_decimal(text: str) -> bool:
    """Whether text is one or more ASCII digits (and nothing else)."""
    return _DIGITS.fullmatch(text) is not None


def saturating_natural(text: str) -> int:
    """ASCII digits as an int, any length, capped at INT64_MAX (for sizes and offsets that
    are only compared, where "more than anything stored" is all a huge value can mean);
    ValueError for anything else."""
    if not is_decimal(text):
        raise ValueError(f"not a decimal number: {text[:40]!r}")
    digits = text.lstrip("0") or "0"
    return min(int(digits), INT64_MAX) if len(digits) <= 19 else INT64_MAX


def parse_natural(text: str | None, field: str, maximum: int = INT64_MAX,
                  error: type[RegistryError] = BadRequest, kind: str = "a whole number") -> int | None:
    """A non-negative integer written in ASCII digits, at most `maximum`; None when absent
    or empty; `error` naming the field otherwise."""
    if text is None or text == "":
        return None
    digits = text.lstrip("0") or "0"
    if not is_decimal(text) or len(digits) > 19 or int(digits) > maximum:
        raise error(f"{field} must be {kind} from 0 to {maximum} in ASCII digits", {"field": field})
    return int(digits)


def parse_position(text: str | None, field: str,
                   error: type[RegistryError] = BadRequest) -> int | None:
    """An event position (see `parse_natural`)."""
    return parse_natural(text, field, MAX_POSITION, error, "an event position (a whole number)")


def is_int64(value: object) -> bool:
    """Whether an int (not a bool) fits a signed 64-bit column; other values pass."""
    return type(value) is not int or INT64_MIN <= value <= INT64_MAX


# An integer literal of 19 digits or more (the only ones that can pass 64 bits).
_LONG_INTEGER = re.compile(rb"(?<![\d.eE+\-])-?\d{19,}(?![\d.eE])")
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_DIGIT_MARKS = bytes(ord("0") if chr(byte).isascii() and chr(byte).isdigit() else ord(" ")
                     for byte in range(256))


def json_problem(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """What makes a JSON text unsafe to decode and store (nested too deep, an integer beyond
    64 bits), or None. Only these two: syntax is the decoder's to judge. Each step is a
    C-speed pass over the bytes (a 4 MiB manifest takes milliseconds, not a Python loop)."""
    text = _without_strings(body)
    if _too_deep(text.translate(_BRACKETS, _NOT_BRACKETS), max_depth):
        return f"JSON nested deeper than {max_depth} levels (or with brackets never closed)"
    if b"0" * 19 in text.translate(_DIGIT_MARKS):
        for number in _LONG_INTEGER.findall(text):
            if not INT64_MIN <= int(number) <= INT64_MAX:
                return "a JSON integer outside the 64-bit range"
    return None


def _without_strings(body: bytes) -> bytes:
    """The JSON text with its strings taken out: brackets and digits inside them count for
    nothing. Escapes go first, so an escaped quote does not end a string."""
    if b'"' not in body:
        return body
    if b"\\" in body:  # escaped backslashes first: in `\\"` the quote ends the string
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(body.split(b'"')[0::2])


def _balanced_within(depth: int) -> "re.Pattern[bytes]":
    """A pattern for runs of `(` and `)` that pair up and nest at most `depth` deep.
    Possessive repeats never backtrack: one linear pass at regex-engine speed."""
    pattern = b""
    for _ in range(depth):
        pattern = rb"(?:\(" + pattern + rb"\))*+"
    return re.compile(pattern)


_WITHIN_DEPTH = _balanced_within(MAX_JSON_DEPTH)


def _too_deep(brackets: bytes, max_depth: int) -> bool:
    """Whether `(` and `)` nest deeper than max_depth. An opener that is never closed counts
    as open to the end: the text is invalid, but a recursive decoder still descends into
    it (`[[[[` a million times is a RecursionError, not a syntax error)."""
    if brackets.count(b"(") <= max_depth:
        return False
    within = _WITHIN_DEPTH if max_depth == MAX_JSON_DEPTH else _balanced_within(max_depth)
    end = within.match(brackets).end()
    # Stopped at a closer with no opener: a syntax error, the decoder's to report.
    return end < len(brackets) and brackets[end:end + 1] == b"("


def check_json(body: bytes, error: type[RegistryError] = BadRequest) -> None:
    """Raise `error` when `json_problem` finds one."""
    problem = json_problem(body)
    if problem is not None:
        raise error(problem)
