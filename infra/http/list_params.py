"""Harbor's paging parameters as text, so an empty `page=` or `page_size=` means the default
(as in Harbor) and anything else that is not a number is a 400 naming the parameter."""

from domain.errors import BadRequest
from domain.input_limits import is_decimal
from infra.http.rest import paging


def _number(name: str, text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    if not is_decimal(text.strip()) or len(text.strip()) > 9:
        raise BadRequest(f"{name} must be a whole number", {name: text[:20]})
    return int(text.strip())


def page_numbers(page: str | None, page_size: str | None, default_size: int = 10) -> tuple[int, int, int, int]:
    """(page, page_size, offset, limit)."""
    number, size = _number("page", page, 1), _number("page_size", page_size, default_size)
    offset, limit = paging(number, size)
    return number, size, offset, limit
