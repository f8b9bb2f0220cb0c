"""Where a password check meets the throttle, the failure record and the log.

Every door that takes a password (the token service, Basic on /api/v2.0 and on
/v2/) asks `begin` before checking and tells `end` the outcome.
"""

import msgspec
import structlog

from domain.errors import SignInThrottled
from domain.iam.sign_ins import attempted_name, readable
from infra.auth.login_throttle import LoginThrottle, Rule
from infra.settings import Settings

log = structlog.get_logger("sign_ins")


class SignInAttempt(msgspec.Struct, frozen=True):
    """Where a sign-in comes from: the door (token, rest, oci), the client, the request."""

    door: str
    client_ip: str = ""
    request_id: str = ""


class SignInGuard:
    def __init__(self, throttle: LoginThrottle, recorder=None) -> None:
        self.throttle = throttle
        self.recorder = recorder  # None: failures are throttled but not recorded (unit tests)

    def check(self, attempt: SignInAttempt, name: str) -> None:
        """Before anything else (even a cached success): SignInThrottled while this source
        must wait for this name; cheap when nobody is guessing."""
        self._refuse(attempt, name, self.throttle.wait(attempt.client_ip, attempted_name(name)))

    def begin(self, attempt: SignInAttempt, name: str) -> None:
        """Before checking a password: SignInThrottled if this source must wait first,
        else the check counts as in flight until `end` or `abandon`."""
        self._refuse(attempt, name, self.throttle.begin(attempt.client_ip, attempted_name(name)))

    def abandon(self, attempt: SignInAttempt, name: str) -> None:
        self.throttle.abandon(attempt.client_ip, attempted_name(name))

    def _refuse(self, attempt: SignInAttempt, name: str, waiting: int) -> None:
        if not waiting:
            return
        if self.recorder is not None:  # counted for the record, never itemized
            self.recorder.refused(attempted_name(name), attempt.door, attempt.client_ip,
                                  attempt.request_id, self.throttle.clock())
        raise SignInThrottled(waiting)

    def end(self, attempt: SignInAttempt, name: str, ok: bool, known: bool, reason: str = "") -> None:
        """After the check `begin` allowed; `known`: the name is an account; `reason`: why it
        failed, when the record may say it (a workload ID token's check, ADR 0045)."""
        name = attempted_name(name)
        failures, from_source, waiting = self.throttle.end(attempt.client_ip, name, failed=not ok)
        if ok:
            return
        if self.recorder is not None:
            self.recorder.failed(name, known, attempt.door, attempt.client_ip, attempt.request_id,
                                 self.throttle.clock(), reason)
        if waiting:
            log.warning("sign-ins throttled", client_ip=attempt.client_ip, user=readable(name),
                        failures=failures, source_failures=from_source, retry_after=waiting, door=attempt.door,
                        request_id=attempt.request_id)


def throttle_from(settings: Settings) -> LoginThrottle:
    window = settings.login_throttle_window_seconds
    pair = Rule(settings.login_throttle_after, settings.login_throttle_base_seconds,
                settings.login_throttle_max_seconds, window)
    source = Rule(settings.login_throttle_source_after, settings.login_throttle_base_seconds,
                  settings.login_throttle_max_seconds, window)
    return LoginThrottle(pair, source)
