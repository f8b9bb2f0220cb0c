"""Hypothesis strategies for the values that broke Tidemark before: numbers past 64 bits,
digits `str.isdigit` accepts but `int` refuses, instants at the ends of the calendar,
cursors that decode to such numbers, and JSON nested deeper than any parser's stack."""

import base64

from hypothesis import strategies as st

HUGE = st.one_of(st.integers(min_value=2**63, max_value=2**80), st.integers(max_value=-(2**63) - 1,
                                                                              min_value=-(2**80)))
# At least one digit outside ASCII: `str.isdigit` accepts all of them, `int` only some.
UNICODE_DIGITS = st.builds(lambda head, digit, tail: head + digit + tail,
                           st.text(alphabet="0123456789", max_size=2),
                           st.characters(categories=["Nd", "No"], min_codepoint=128),
                           st.text(alphabet="0123456789", max_size=2))
EDGE_TIMES = st.sampled_from([
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00",
    "2026-01-01T00:00:00+24:00", "1970-01-01T00:00:00+00:00",
])
CURSORS = st.one_of(HUGE, UNICODE_DIGITS).map(
    lambda value: base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("="))

# Strings that reach a parser of numbers, positions, times or ids.
NASTY_TEXT = st.one_of(UNICODE_DIGITS, HUGE.map(str), EDGE_TIMES, CURSORS,
                       st.sampled_from(["abc", "-1", "+1", " 1", "1_000", "0x10", "1e3", "", "\x00"]))
# JSON values for fields of request bodies.
NASTY_JSON = st.one_of(HUGE, NASTY_TEXT, st.just([]), st.just({}), st.just(None))


def deep_json(depth: int, opener: bytes = b"[", closer: bytes = b"]", inner: bytes = b"") -> bytes:
    """A JSON value nested `depth` levels deep, built as bytes (json.dumps would overflow)."""
    if opener == b"{":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return opener * depth + inner + closer * depth
