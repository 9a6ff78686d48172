"""What the engine answers and sends, as typed records: the views of
PROTOCOL §5 with money as :class:`~decimal.Decimal`. Each keeps the frame
it came from in ``raw``, so a field this version does not model is still
there. Built by :func:`from_wire`, which reads each field by its wire name
and turns every money field into a Decimal without a float in between."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from ._json import decimal, opt_decimal

M = TypeVar("M")

_CONVERTERS: dict[type, list[tuple[str, str, Any]]] = {}


def _plan(cls: type) -> list[tuple[str, str, Any]]:
    """(attribute, wire name, converter) per field of a model."""
    plan = _CONVERTERS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = []
        for f in dataclasses.fields(cls):
            if f.name == "raw":
                continue
            hint = hints[f.name]
            conv: Any = None
            if hint is Decimal:
                conv = decimal
            elif Decimal in typing.get_args(hint):
                conv = opt_decimal
            plan.append((f.name, f.metadata.get("wire", f.name), conv))
        _CONVERTERS[cls] = plan
    return plan


def from_wire(cls: type[M], data: dict[str, Any]) -> M:
    """A model from a view as the engine writes it."""
    kwargs: dict[str, Any] = {"raw": data}
    for attr, wire, conv in _plan(cls):
        value = data.get(wire)
        if conv is decimal and value is None:
            # Never a made-up zero where money was expected.
            raise ValueError(f"{cls.__name__}: `{wire}` is missing from {data!r}")
        kwargs[attr] = conv(value) if conv is not None and value is not None else value
    return cls(**kwargs)


def _raw() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Order:
    """An order as ``order_update`` and ``get_orders`` show it."""

    order_id: str = field(metadata={"wire": "orderId"})
    client_order_id: str | None
    status: str
    symbol: str
    side: str
    order_type: str
    size: Decimal
    filled: Decimal
    remaining: Decimal
    price: Decimal | None
    avg_price: Decimal | None
    fees: Decimal
    time_in_force: str
    post_only: bool
    exchange: str
    connection_id: str | None
    strategy: str | None
    strategy_id: str | None
    reason: str | None
    created_at: str
    updated_at: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Trade:
    """A fill, as ``trade`` and ``get_trades`` show it."""

    trade_id: str
    order_id: str
    symbol: str
    side: str
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: str
    exchange: str
    connection_id: str | None
    strategy: str | None
    strategy_id: str | None
    time: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Position:
    symbol: str
    size: Decimal
    side: str
    entry_price: Decimal
    current_price: Decimal
    pnl: Decimal
    pnl_percent: Decimal
    realized_pnl: Decimal
    exchange: str
    connection_id: str | None
    strategy: str | None
    strategy_id: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Balance:
    asset: str
    free: Decimal
    used: Decimal
    total: Decimal
    exchange: str
    connection_id: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Strategy:
    """A strategy instance, as ``strategy`` and ``get_strategies`` show it."""

    id: str
    name: str
    strategy_type: str
    status: str
    exchange: str
    connection_id: str | None
    pair: str
    profit: Decimal
    realized_pnl: Decimal
    fees: Decimal
    position: Decimal
    volume: Decimal
    trades: int
    open_orders: int
    restarts: int
    error_msg: str | None
    progress: Decimal | None
    config: dict[str, Any]
    created_at: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Connection:
    """An exchange connection (never with its keys)."""

    id: str
    name: str
    exchange: str
    status: str
    message: str
    attempt: int
    next_retry_ms: int | None
    testnet: bool
    pairs: list[str]
    rest_url: str
    ws_url: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Market:
    """A pair a venue trades, with its rules."""

    exchange: str
    connection_id: str | None
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_notional: Decimal
    price_precision: int
    size_precision: int
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class SystemStatus:
    uptime: int
    bot_status: str
    active_strategies: int
    total_profit: Decimal
    total_trades: int
    success_rate: Decimal
    #: Why the engine runs degraded (the database cannot be written), while
    #: it does: new orders are refused with ``storage_unavailable``.
    degraded: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class OrderBook:
    """``get_order_book``: levels best first, ``(price, size)``."""

    symbol: str
    exchange: str
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]
    sequence: int

    @staticmethod
    def of(data: dict[str, Any]) -> OrderBook:
        def levels(side: Any) -> list[tuple[Decimal, Decimal]]:
            return [(decimal(p), decimal(s)) for p, s in (side or [])]

        return OrderBook(
            symbol=data.get("symbol", ""),
            exchange=data.get("exchange", ""),
            bids=levels(data.get("bids")),
            asks=levels(data.get("asks")),
            sequence=int(data.get("sequence") or 0),
        )


@dataclass(frozen=True)
class BacktestProgress:
    """``backtest_progress``: ``progress`` from 0 to 1."""

    backtest_id: str
    progress: Decimal
    current_date: str | None
    total_days: Decimal | None
    completed_days: Decimal | None
    estimated_remaining: Decimal | None

    @staticmethod
    def of(event: dict[str, Any]) -> BacktestProgress:
        d = event.get("data") or {}
        return BacktestProgress(
            backtest_id=event.get("backtest_id", ""),
            progress=decimal(d.get("progress", 0)),
            current_date=d.get("current_date"),
            total_days=opt_decimal(d.get("total_days")),
            completed_days=opt_decimal(d.get("completed_days")),
            estimated_remaining=opt_decimal(d.get("estimated_remaining")),
        )


@dataclass(frozen=True)
class BacktestResult:
    """How a backtest ended: ``status`` (``completed``, ``cancelled``,
    ``failed``), the report (``pnl``, ``return_pct``, ``sharpe``,
    ``trades``, ``win_rate`` …, as the README defines them) or the error."""

    backtest_id: str
    status: str
    report: dict[str, Any] | None
    error: str | None

    @property
    def pnl(self) -> Decimal | None:
        return None if self.report is None else opt_decimal(self.report.get("pnl"))

    @property
    def trades(self) -> int | None:
        return None if self.report is None else self.report.get("trades")
