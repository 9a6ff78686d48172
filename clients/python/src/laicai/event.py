"""``Event``: one frame the engine sent (or a ``resync`` the client made),
with typed views of the kinds a trader reads most."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import Balance, Order, Position, Strategy, Trade, from_wire

#: Numbered but never replayed; conflated by the engine for a slow client.
MARKET_DATA = frozenset({"price", "market_data", "orderbook"})

_MODELS: dict[str, type] = {
    "order_update": Order,
    "trade": Trade,
    "position": Position,
    "balance": Balance,
    "strategy": Strategy,
}


@dataclass(frozen=True)
class Event:
    """``type`` (``order_update``, ``price``, …, or ``resync``), ``seq``
    (``None`` for frames that are not numbered) and the frame's fields in
    ``data``, money as Decimal. ``event["price"]`` reads a field."""

    type: str
    seq: int | None
    data: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def model(self) -> Order | Trade | Position | Balance | Strategy | None:
        """The event as a typed record, for ``order_update`` (an ``Order``),
        ``trade``, ``position``, ``balance`` and ``strategy``."""
        cls = _MODELS.get(self.type)
        return None if cls is None else from_wire(cls, self.data)
