"""Which local user an OIDC identity (issuer, subject) is: one stream per identity, so two
first sign-ins of the same person at once cannot onboard two users (ADR 0043)."""

from domain.base import Actor, RegistryAggregate
from domain.names import stream_id


def oidc_subject_id(issuer: str, subject: str):
    return stream_id("oidc-subject", issuer, subject)


class OidcSubject(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """An issuer's subject was linked to a local user at onboarding."""

        issuer: str
        subject: str
        username: str

    def __init__(self, issuer: str, subject: str, username: str) -> None:
        self.issuer, self.subject, self.username = issuer, subject, username

    @classmethod
    def create(cls, issuer: str, subject: str, username: str, actor: Actor) -> "OidcSubject":
        return cls._create(cls.Created, id=oidc_subject_id(issuer, subject), issuer=issuer,
                           subject=subject, username=username, **actor.fields())
