"""Every way a client call fails, by what the caller does about it."""

from __future__ import annotations

from typing import Any


class LaicaiError(Exception):
    """Base of every error this package raises."""


class ConnectError(LaicaiError):
    """The WebSocket could not be opened (refused, unreachable, timed out).
    Worth retrying."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"cannot connect to {url}: {reason}")
        self.url = url
        self.reason = reason
        #: The HTTP status that refused the upgrade, if one did.
        self.status = status


class AuthenticationError(ConnectError):
    """HTTP 401: the token is missing or wrong. Retrying will not help."""


class RateLimitedError(ConnectError):
    """HTTP 429: too many failed attempts from this address; wait
    (``server.auth_block_s``) before trying again."""


class NotConnectedError(LaicaiError):
    """The client is not connected and did not get connected in time."""


class ConnectionLostError(LaicaiError):
    """The connection dropped before the answer came: the command may or may
    not have run (check with ``get_orders`` before sending it again)."""


class CommandTimeout(LaicaiError, TimeoutError):
    """No answer within ``ConnectionConfig.timeout``."""


class SubscriptionLimitError(LaicaiError):
    """More subscriptions than ``ConnectionConfig.max_subscriptions``."""


class CommandError(LaicaiError):
    """The engine refused a command: its ``error`` code (PROTOCOL §6, e.g.
    ``invalid_params``, ``risk_rejected``) and ``message``."""

    def __init__(self, code: str, message: str, response: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        #: The whole ``response`` frame.
        self.response = response
