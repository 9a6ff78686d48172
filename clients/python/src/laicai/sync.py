"""A blocking client for scripts and notebooks: ``laicai.connect(url)``
runs a ``WebSocketClient`` on an event loop in a thread of its own and
answers each call when it is done."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Coroutine, TypeVar

from ._json import Money
from .client import WebSocketClient
from .config import ConnectionConfig
from .errors import NotConnectedError
from .models import Balance, Order, OrderBook, Position, Strategy, SystemStatus, Trade

R = TypeVar("R")


class SyncClient:
    """Every coroutine method of ``WebSocketClient`` as a blocking call
    (``place_order``, ``get_orders``, … are typed here; any other, e.g.
    ``start_backtest``, works through attribute access too)."""

    def __init__(self, config: ConnectionConfig) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="laicai", daemon=True)
        self._thread.start()
        self.client: WebSocketClient = self._run(self._make(config))

    @staticmethod
    async def _make(config: ConnectionConfig) -> WebSocketClient:
        return WebSocketClient(config)

    def _run(self, coro: Coroutine[Any, Any, R]) -> R:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def connect(self) -> SyncClient:
        if not self._run(self.client.connect()):
            raise self.client.last_error or NotConnectedError("not connected")
        return self

    def close(self) -> None:
        """Closes the connection and stops the thread."""
        if self._loop.is_closed():
            return
        self._run(self.client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)
        if not asyncio.iscoroutinefunction(method):
            return method  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._run(method(*args, **kwargs))

        return call

    def add_message_handler(self, data_type: str, handler: Callable[[dict[str, Any]], None]) -> None:
        """Handlers run on the client's thread."""
        self._loop.call_soon_threadsafe(self.client.add_message_handler, data_type, handler)

    def place_order(
        self, symbol: str, side: str, size: Money, price: Money | None = None, **kw: Any
    ) -> Order:
        return self._run(self.client.place_order(symbol, side, size, price, **kw))

    def cancel_order(self, order_id: str, **kw: Any) -> None:
        self._run(self.client.cancel_order(order_id, **kw))

    def cancel_all_orders(self, symbol: str | None = None, **kw: Any) -> int:
        return self._run(self.client.cancel_all_orders(symbol, **kw))

    def get_orders(self, symbol: str | None = None, **kw: Any) -> list[Order]:
        return self._run(self.client.get_orders(symbol, **kw))

    def get_trades(self, symbol: str | None = None, **kw: Any) -> list[Trade]:
        return self._run(self.client.get_trades(symbol, **kw))

    def get_positions(self, **kw: Any) -> list[Position]:
        return self._run(self.client.get_positions(**kw))

    def get_balances(self, **kw: Any) -> list[Balance]:
        return self._run(self.client.get_balances(**kw))

    def get_order_book(self, symbol: str, depth: int = 20, **kw: Any) -> OrderBook:
        return self._run(self.client.get_order_book(symbol, depth, **kw))

    def get_strategies(self) -> list[Strategy]:
        return self._run(self.client.get_strategies())

    def get_system_status(self) -> SystemStatus:
        return self._run(self.client.get_system_status())

    def get_stats(self) -> dict[str, Any]:
        return self._run(self.client.get_stats())

    def command(self, cmd: str, **params: Any) -> dict[str, Any]:
        return self._run(self.client.command(cmd, **params))


def connect(url: str, api_key: str | None = None, **settings: Any) -> SyncClient:
    """A connected blocking client: ``laicai.connect(url).place_order(…)``.
    ``settings`` are ``ConnectionConfig``'s other fields."""
    client = SyncClient(ConnectionConfig(url=url, api_key=api_key, **settings))
    try:
        return client.connect()
    except BaseException:
        client.close()
        raise
