"""``WebSocketClientManager``: several clients by name, as the original SDK
document has it."""

from __future__ import annotations

import asyncio
from typing import Any

from .client import WebSocketClient
from .config import ConnectionConfig


class WebSocketClientManager:
    def __init__(self) -> None:
        self._clients: dict[str, WebSocketClient] = {}

    def create_client(self, client_id: str, config: ConnectionConfig) -> WebSocketClient:
        """A new client under ``client_id`` (not connected yet); an id in use
        is refused."""
        if client_id in self._clients:
            raise ValueError(f"a client `{client_id}` exists already")
        client = WebSocketClient(config)
        self._clients[client_id] = client
        return client

    def get_client(self, client_id: str) -> WebSocketClient | None:
        return self._clients.get(client_id)

    @property
    def clients(self) -> dict[str, WebSocketClient]:
        return dict(self._clients)

    async def remove_client(self, client_id: str) -> None:
        """Closes the client and forgets it."""
        client = self._clients.pop(client_id, None)
        if client is not None:
            await client.close()

    async def get_all_stats(self) -> dict[str, dict[str, Any]]:
        """Every client's ``get_stats()``, by id."""
        return {cid: await c.get_stats() for cid, c in self._clients.items()}

    async def close_all(self) -> None:
        """Closes every client, at once."""
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
