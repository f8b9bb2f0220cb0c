"""Names, references and digests as the OCI distribution spec defines them,
and the deterministic aggregate ids derived from them."""

import re
import unicodedata
from uuid import UUID, uuid5

from domain.errors import BadRequest, DigestInvalid, NameInvalid

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})+")
PROJECT_NAME = re.compile(_COMPONENT)
TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
DIGEST = re.compile(r"([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")
MAX_NAME_LENGTH = 255

# Hex lengths of the digest algorithms we verify.
ALGORITHMS = {"sha256": 64, "sha512": 128}

_NAMESPACE = UUID("6d1b7c2e-4a4f-4f55-9a53-3f1f6a2b9e10")


# Control, format (bidi overrides, zero-width), private-use, surrogate and line/paragraph
# separator characters: they forge log lines and reorder what an administrator reads.
_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


def check_text(value: str, field: str, multiline: bool = False) -> str:
    """The text if it holds no invisible or control characters (a free text may hold tabs
    and line feeds); BadRequest naming the field and the character otherwise."""
    for char in value:
        if unicodedata.category(char) in _INVISIBLE and not (multiline and char in "\t\n"):
            raise BadRequest(f"{field} may not contain control or invisible characters "
                             f"(found U+{ord(char):04X})", {"field": field})
    return value


def check_repository(name: str) -> str:
    """Return the name if it is a valid `<project>/<path>` repository name."""
    if len(name) > MAX_NAME_LENGTH or not REPOSITORY_NAME.fullmatch(name):
        raise NameInvalid(
            "invalid repository name: must be <project>/<path> in lower case "
            "letters, digits and separators",
            {"name": name[:300]},
        )
    return name


def check_project(name: str) -> str:
    """Return the name if it is a valid project name."""
    if not 1 <= len(name) <= 255 or not PROJECT_NAME.fullmatch(name):
        raise NameInvalid("invalid project name", {"name": name[:300]})
    return name


def project_of(repository: str) -> str:
    """The project a repository belongs to: its first path component."""
    return repository.split("/", 1)[0]


def is_tag(reference: str) -> bool:
    return TAG.fullmatch(reference) is not None


def is_digest(reference: str) -> bool:
    return ":" in reference


def check_digest(digest: str) -> str:
    """Return the digest if its algorithm is one we verify and its hex is well formed."""
    match = DIGEST.fullmatch(digest)
    if not match:
        raise DigestInvalid("invalid digest", {"digest": digest[:200]})
    algorithm, encoded = match.groups()
    length = ALGORITHMS.get(algorithm)
    if length is None:
        raise DigestInvalid("unsupported digest algorithm", {"algorithm": algorithm[:50]})
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise DigestInvalid("invalid digest", {"digest": digest[:200]})
    return digest


def stream_id(kind: str, *parts: str) -> UUID:
    """The aggregate id for a natural key, so one name always maps to one stream."""
    return uuid5(_NAMESPACE, "\x1f".join((kind, *parts)))


def project_stream_id(kind: str, generation: int, *parts: str) -> UUID:
    """The id of a stream inside a project (a tag, a blob link, its quota, ...). A project's
    first generation keeps the ids names always gave; a project created again under the name
    of a deleted one is a new generation whose streams are its own, so nothing of the deleted
    project (its tags, links, rules, quota, undeletable artifacts) becomes the new one's."""
    if generation < 1:
        raise ValueError(f"a project generation starts at 1, not {generation}")
    if generation == 1:
        return stream_id(kind, *parts)
    return stream_id(kind, *parts, f"generation {generation}")
