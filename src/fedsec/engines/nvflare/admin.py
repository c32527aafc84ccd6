"""An admin's link to the coordinator that outlives a coordinator restart.

NVFlare's admin session raises ``NoConnection`` (or ``SessionClosed`` once a restarted
coordinator forgot the session) when the coordinator goes away. :class:`Link` reconnects with a
new session and retries, and raises :class:`CoordinatorUnreachable` once the coordinator has been
gone longer than its grace period, so a command ends with a clear message, not a traceback.
NVFlare's own console chatter ("Connecting to FLARE ...", a log line per failed reconnection) is
kept out of the user's terminal.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from fedsec.core.errors import FedsecError
from fedsec.engines.nvflare.results import DeploymentError

T = TypeVar("T")


class CoordinatorUnreachable(DeploymentError):
    """The coordinator did not answer for longer than the grace period."""

    def __init__(self, what: str, since: float, grace: float, reason: str) -> None:
        self.since, self.grace = since, grace
        when = time.strftime("%H:%M:%S", time.localtime(since))
        super().__init__(
            f"coordinator unreachable since {when} (more than {grace:.0f} s) while {what}: {reason}"
        )


def lost(error: BaseException) -> bool:
    """Does ``error`` mean the coordinator is (for now) out of reach?"""
    from nvflare.fuel.flare_api.api_spec import NoConnection, SessionClosed

    return isinstance(error, NoConnection | SessionClosed | ConnectionError | TimeoutError)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep NVFlare's prints ("Connecting to FLARE ...") out of the user's terminal."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def mute_nvflare_logs() -> None:
    """NVFlare's admin client logs every failed reconnection attempt to the console."""
    logging.getLogger("nvflare").setLevel(logging.CRITICAL)


class Link:
    """Admin commands to the coordinator, across reconnections (one session at a time)."""

    def __init__(
        self,
        admin_kit: Path,
        username: str,
        grace: float = 60.0,
        retry: float = 2.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.admin_kit, self.username = Path(admin_kit).resolve(), username
        self.grace, self.retry, self.connect_timeout = grace, retry, connect_timeout
        self._session: Any = None
        mute_nvflare_logs()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception), quiet():
                self._session.close()
            self._session = None

    def connect(self) -> Any:
        from nvflare.fuel.flare_api.flare_api import new_secure_session

        if self._session is None:
            with quiet():
                self._session = new_secure_session(
                    self.username, str(self.admin_kit), timeout=self.connect_timeout
                )
        return self._session

    def call(self, what: str, command: Callable[[Any], T]) -> T:
        """``command(session)``; retried on a new session while the coordinator is away."""
        since = None
        while True:
            try:
                return command(self.connect())
            except FedsecError:
                raise
            except Exception as error:
                if not lost(error):
                    if self._session is None:
                        raise DeploymentError(
                            f"cannot log in to the coordinator with {self.admin_kit}: {error}"
                        ) from error
                    raise DeploymentError(f"{what} failed: {error}") from error
                self.close()
                since = since or time.time()
                if time.time() - since > self.grace:
                    raise CoordinatorUnreachable(what, since, self.grace, str(error)) from None
                time.sleep(self.retry)
