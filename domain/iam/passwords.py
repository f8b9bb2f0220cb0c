"""Harbor's password policy: 8 to 128 characters with upper, lower and a digit."""

from domain.errors import BadRequest


def check_password_policy(password: str) -> str:
    if not 8 <= len(password) <= 128 or not any(c.isupper() for c in password) \
            or not any(c.islower() for c in password) or not any(c.isdigit() for c in password):
        raise BadRequest("password must be 8 to 128 characters long with at least one "
                         "uppercase letter, one lowercase letter and one digit")
    return password
