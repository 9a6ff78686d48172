"""``laicai``: a Python client for the laicai trading engine's WebSocket
API (PROTOCOL.md in the engine's repository).

    import asyncio, laicai

    async def main() -> None:
        async with laicai.WebSocketClient(laicai.ConnectionConfig("ws://127.0.0.1:8000/api/stream")) as c:
            order = await c.place_order("BTC-USDT", "buy", "0.001", "30000")
            async for e in c.events("order_update"):
                print(e.model)

Money is ``decimal.Decimal`` end to end; events reach handlers and
``events()`` once each, in ``seq`` order, across reconnects.
"""

from .client import EventStream, Handler, WebSocketClient
from .config import ConnectionConfig, ConnectionState, SubscriptionConfig
from .errors import (
    AuthenticationError,
    CommandError,
    CommandTimeout,
    ConnectError,
    ConnectionLostError,
    LaicaiError,
    NotConnectedError,
    RateLimitedError,
    SubscriptionLimitError,
)
from .event import Event
from .manager import WebSocketClientManager
from .models import (
    BacktestProgress,
    BacktestResult,
    Balance,
    Connection,
    Market,
    Order,
    OrderBook,
    Position,
    Strategy,
    SystemStatus,
    Trade,
)
from .quickstart import QuickStartClient
from .sync import SyncClient, connect

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "BacktestProgress",
    "BacktestResult",
    "Balance",
    "CommandError",
    "CommandTimeout",
    "ConnectError",
    "Connection",
    "ConnectionConfig",
    "ConnectionLostError",
    "ConnectionState",
    "Event",
    "EventStream",
    "Handler",
    "LaicaiError",
    "Market",
    "NotConnectedError",
    "Order",
    "OrderBook",
    "Position",
    "QuickStartClient",
    "RateLimitedError",
    "Strategy",
    "SubscriptionConfig",
    "SubscriptionLimitError",
    "SyncClient",
    "SystemStatus",
    "Trade",
    "WebSocketClient",
    "WebSocketClientManager",
    "connect",
]
