"""``QuickStartClient``: the original document's two-line start, with
pairs where it had stocks."""

from __future__ import annotations

import itertools

from .client import Handler, WebSocketClient
from .config import ConnectionConfig, SubscriptionConfig

_next = itertools.count(1)


class QuickStartClient:
    @staticmethod
    async def create(url: str, api_key: str | None = None) -> WebSocketClient:
        """A client with the default settings (call ``connect()`` next)."""
        return WebSocketClient(ConnectionConfig(url=url, api_key=api_key))

    @staticmethod
    async def subscribe_pairs(
        client: WebSocketClient,
        symbols: list[str],
        handler: Handler,
        data_types: list[str] | None = None,
    ) -> str:
        """Subscribes to ``price`` (or ``data_types``) for ``symbols`` and
        hands each to ``handler``; answers the subscription's id."""
        kinds = data_types or ["price"]
        sub_id = f"quickstart-{next(_next)}"
        wanted = set(symbols)

        def on_event(data: dict[str, object]) -> None:
            if not wanted or data.get("symbol") in wanted:
                handler(data)

        for kind in kinds:
            client.add_message_handler(kind, on_event)
        await client.subscribe(sub_id, SubscriptionConfig(symbols=list(symbols), data_types=kinds))
        return sub_id

    #: The original document's name; laicai trades pairs (``BTC-USDT``).
    subscribe_stocks = subscribe_pairs
