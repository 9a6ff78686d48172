"""The connection's settings, a subscription, and the connection's state,
as the original SDK document names them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class ConnectionState(Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ERROR = "error"


@dataclass
class ConnectionConfig:
    """How to reach the engine and how hard to hold on to it.

    ``api_key`` is the engine's token (``[[server.tokens]]`` or
    ``LAICAI_TOKEN``); it is sent as ``Authorization: Bearer`` or, with
    ``token_in_subprotocol``, as the ``bearer.<token>`` subprotocol.
    ``heartbeat_interval`` is how often the client pings; a ping not
    answered within ``timeout`` seconds ends the connection, and the client
    reconnects up to ``max_reconnect_attempts`` times per outage, waiting
    ``reconnect_delay`` doubled each attempt (jittered, at most 30 s).
    ``timeout`` also bounds each command's wait for its answer.
    """

    url: str
    api_key: str | None = field(default=None, repr=False)
    max_reconnect_attempts: int = 5
    reconnect_delay: float = 1.0
    heartbeat_interval: float = 30
    timeout: float = 10
    max_subscriptions: int = 100
    token_in_subprotocol: bool = False
    #: Events held for a slow handler or ``events()`` reader before market
    #: data (``price``, ``market_data``, ``orderbook``) is dropped for it;
    #: order, trade and every other event is never dropped.
    max_pending_market_data: int = 10_000
    #: Other URLs serving the same engine's events (gateways, or the
    #: engine on another address). ``connect()`` tries ``url`` then each;
    #: after a lost connection every attempt tries them all, starting with
    #: the one after the URL lost, and the client replays from its last
    #: ``seq`` on whichever answers.
    fallback_urls: list[str] = field(default_factory=list)

    def urls(self) -> list[str]:
        """``url``, then the fallbacks."""
        return [self.url, *self.fallback_urls]

    def __post_init__(self) -> None:
        problems = []
        for url in self.urls():
            if not url.startswith(("ws://", "wss://")):
                problems.append(f"url {url!r} must start with ws:// or wss://")
        if self.max_reconnect_attempts < 0:
            problems.append("max_reconnect_attempts must be >= 0")
        for name in ("reconnect_delay", "heartbeat_interval", "timeout"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0")
        if self.max_subscriptions < 1:
            problems.append("max_subscriptions must be >= 1")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass
class SubscriptionConfig:
    """One subscription (PROTOCOL §4, the SDK form): ``data_types`` are
    event types (``price``, ``orderbook``, ``order_update``, …; ``volume``
    from the original document is ``market_data``), ``symbols`` pairs like
    ``BTC-USDT`` (empty: every pair). ``update_frequency`` (``realtime``,
    ``1s``, ``5s``, ``1m``) and ``filters`` (``min_price``, ``max_price``)
    shape market data only."""

    symbols: list[str]
    data_types: list[str]
    update_frequency: str = "realtime"
    filters: dict[str, Any] | None = None

    def frame(self, kind: str, subscription_id: str) -> dict[str, Any]:
        """The ``subscribe``/``unsubscribe`` frame."""
        f: dict[str, Any] = {
            "type": kind,
            "subscription_id": subscription_id,
            "symbols": list(self.symbols),
            "data_types": list(self.data_types),
            "update_frequency": self.update_frequency,
        }
        if self.filters:
            f["filters"] = dict(self.filters)
        return f
