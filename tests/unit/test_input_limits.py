"""The one parser of numbers from requests and the one check of JSON bodies."""

import pytest

from domain.errors import BadRequest, ManifestInvalid
from domain.input_limits import (
    INT64_MAX, MAX_POSITION, json_problem, parse_natural, parse_position, saturating_natural,
)


@pytest.mark.parametrize("text", ["²", "①", "١٢", " 12", "12 ", "1_000", "+1", "-1", "0x10", "1e3",
                                  "abc", str(2**63), "9" * 5000])
def test_a_number_from_a_request_is_ascii_digits_within_64_bits(text):
    with pytest.raises(BadRequest) as refused:
        parse_natural(text, "page")
    assert refused.value.message.startswith("page must be a whole number")


def test_numbers_that_fit_are_read_and_absent_ones_are_none():
    assert parse_natural("0", "n") == 0
    assert parse_natural(str(INT64_MAX), "n") == INT64_MAX
    assert parse_natural("0000000000000000000000042", "n") == 42
    assert parse_natural(None, "n") is None and parse_natural("", "n") is None


def test_a_position_leaves_room_for_the_next_one_and_raises_the_error_asked_for():
    assert parse_position(str(MAX_POSITION), "after") == MAX_POSITION
    with pytest.raises(ManifestInvalid):
        parse_position(str(MAX_POSITION + 1), "after", ManifestInvalid)


def test_sizes_and_offsets_saturate_instead_of_overflowing():
    assert saturating_natural("99999999999999999999999") == INT64_MAX
    assert saturating_natural("0" * 30 + "7") == 7
    for text in ("²", "١", "", " 1"):
        with pytest.raises(ValueError):
            saturating_natural(text)


def _nested(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    return opener * depth + closer * depth


@pytest.mark.parametrize("body", [
    _nested(64), b'{"a":' * 64 + b"1" + b"}" * 64, b"[" + b"[]," * 10_000 + b"[]]",
    b'["' + b"[" * 1000 + b'"]',  # brackets inside a string are text
    b'["\\"' + b"[" * 1000 + b'"]',  # so are those after an escaped quote
    b"[9223372036854775807, -9223372036854775808, 1.2345678901234567890123, 1e99999999999999999999]",
    b'["99999999999999999999999"]', b'{"a":[1,2',  # a syntax error is the decoder's to report
])
def test_json_within_the_limits_passes(body):
    assert json_problem(body) is None


@pytest.mark.parametrize("body, problem", [
    (_nested(65), "nested deeper than 64"), (b'{"a":' * 65 + b"1" + b"}" * 65, "nested deeper than 64"),
    (b"[" * 100_000, "nested deeper than 64"),  # never closed: a recursive decoder still descends
    (b'["\\\\", ' + _nested(65) + b"]", "nested deeper than 64"),  # the quote after \\ ends the string
    (b"[9223372036854775808]", "outside the 64-bit range"),
    (b'{"id": -9223372036854775809}', "outside the 64-bit range"),
    (b'{"hard": {"storage": 1180591620717411303424}}', "outside the 64-bit range"),
])
def test_json_too_deep_or_with_a_huge_integer_is_refused(body, problem):
    assert problem in json_problem(body)
