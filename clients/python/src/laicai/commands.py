"""The engine's commands (PROTOCOL §3) as coroutines with typed answers.
Each sends one command, waits for its answer (``ConnectionConfig.timeout``)
and raises ``CommandError`` with the engine's code when it is refused.
Money goes as exact strings: pass ``Decimal``, ``int`` or ``str``, never a
``float``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from . import _json
from ._json import Money
from .errors import CommandTimeout
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
    from_wire,
)

if TYPE_CHECKING:
    from .client import EventStream
    from .event import Event

_FINISHED = ("completed", "cancelled", "failed")


def _data(answer: dict[str, Any]) -> dict[str, Any]:
    data = answer.get("data")
    return dict(data) if isinstance(data, dict) else {}


def _venue(exchange: str | None, connection_id: str | None) -> dict[str, Any]:
    return {"exchange": exchange, "connection_id": connection_id}


def _filters(
    symbol: str | None,
    status: str | None,
    strategy: str | None,
    limit: int | None,
    start_time: int | None,
    end_time: int | None,
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": status,
        "strategy": strategy,
        "limit": limit,
        "start_time": start_time,
        "end_time": end_time,
    }


class Commands:
    """Mixed into ``WebSocketClient``; needs its ``command`` and ``events``."""

    async def command(self, cmd: str, **params: Any) -> dict[str, Any]:
        raise NotImplementedError

    def events(
        self,
        *types: str,
        symbol: str | None = None,
        where: Callable[[Event], bool] | None = None,
    ) -> EventStream:
        raise NotImplementedError

    # ---- orders ------------------------------------------------------------

    async def place_order(
        self,
        symbol: str,
        side: str,
        size: Money,
        price: Money | None = None,
        *,
        order_type: str | None = None,
        time_in_force: str | None = None,
        post_only: bool | None = None,
        client_order_id: str | None = None,
        exchange: str | None = None,
        connection_id: str | None = None,
    ) -> Order:
        """Places an order: a limit order when ``price`` is given, else a
        market order (or say ``order_type``). Answers it as placed (it is
        durable by then); its fills follow as ``order_update``/``trade``."""
        answer = await self.command(
            "place_order",
            symbol=symbol,
            side=side,
            type=order_type or ("limit" if price is not None else "market"),
            size=_json.money("size", size),
            price=None if price is None else _json.money("price", price),
            time_in_force=time_in_force,
            post_only=post_only,
            client_order_id=client_order_id,
            **_venue(exchange, connection_id),
        )
        return from_wire(Order, answer["order"])

    async def cancel_order(
        self, order_id: str, *, exchange: str | None = None, connection_id: str | None = None
    ) -> None:
        """Cancels an open order (the engine finds its venue by the id)."""
        await self.command("cancel_order", order_id=order_id, **_venue(exchange, connection_id))

    async def cancel_all_orders(
        self,
        symbol: str | None = None,
        *,
        strategy: str | None = None,
        exchange: str | None = None,
        connection_id: str | None = None,
    ) -> int:
        """Cancels every open order (of ``symbol``, of ``strategy``); answers
        how many."""
        answer = await self.command(
            "cancel_all_orders",
            symbol=symbol,
            strategy=strategy,
            **_venue(exchange, connection_id),
        )
        return int(answer.get("cancelled_count") or 0)

    async def get_orders(
        self,
        symbol: str | None = None,
        *,
        status: str | None = None,
        strategy: str | None = None,
        limit: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        exchange: str | None = None,
        connection_id: str | None = None,
    ) -> list[Order]:
        """Orders, newest first; ``status`` ``open`` for the resting ones.
        Times are ms since the epoch."""
        answer = await self.command(
            "get_orders",
            **_filters(symbol, status, strategy, limit, start_time, end_time),
            **_venue(exchange, connection_id),
        )
        return [from_wire(Order, o) for o in answer.get("orders", [])]

    async def get_trades(
        self,
        symbol: str | None = None,
        *,
        strategy: str | None = None,
        limit: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        exchange: str | None = None,
        connection_id: str | None = None,
    ) -> list[Trade]:
        answer = await self.command(
            "get_trades",
            **_filters(symbol, None, strategy, limit, start_time, end_time),
            **_venue(exchange, connection_id),
        )
        return [from_wire(Trade, t) for t in answer.get("trades", [])]

    async def export_trades(
        self,
        symbol: str | None = None,
        *,
        strategy: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        exchange: str | None = None,
        connection_id: str | None = None,
    ) -> str:
        """The trades ``get_trades`` would give, oldest first, as CSV."""
        answer = await self.command(
            "export_trades",
            **_filters(symbol, None, strategy, None, start_time, end_time),
            **_venue(exchange, connection_id),
        )
        return str(answer.get("csv", ""))

    # ---- account and market ------------------------------------------------

    async def get_positions(
        self, *, exchange: str | None = None, connection_id: str | None = None
    ) -> list[Position]:
        answer = await self.command("get_positions", **_venue(exchange, connection_id))
        return [from_wire(Position, p) for p in answer.get("positions", [])]

    async def get_balances(
        self, *, exchange: str | None = None, connection_id: str | None = None
    ) -> list[Balance]:
        answer = await self.command("get_balances", **_venue(exchange, connection_id))
        return [from_wire(Balance, b) for b in answer.get("balances", [])]

    async def get_order_book(
        self,
        symbol: str,
        depth: int = 20,
        *,
        exchange: str | None = None,
        connection_id: str | None = None,
    ) -> OrderBook:
        answer = await self.command(
            "get_order_book", symbol=symbol, depth=depth, **_venue(exchange, connection_id)
        )
        return OrderBook.of(answer)

    async def get_markets(self) -> list[Market]:
        """Every pair of every venue, with its trading rules."""
        answer = await self.command("get_markets")
        return [from_wire(Market, m) for m in answer.get("markets", [])]

    async def get_candles(
        self,
        symbol: str,
        limit: int = 500,
        *,
        exchange: str | None = None,
        connection_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """A pair's newest one-minute candles."""
        answer = await self.command(
            "get_candles", symbol=symbol, limit=limit, **_venue(exchange, connection_id)
        )
        return list(answer.get("candles", []))

    # ---- strategies --------------------------------------------------------

    async def create_strategy(
        self,
        name: str,
        strategy_type: str,
        pair: str,
        config: dict[str, Any] | None = None,
        *,
        exchange: str | None = None,
        connection_id: str | None = None,
    ) -> Strategy:
        """Creates a ``pmm``, ``grid`` or ``twap`` strategy (stopped until
        started); ``get_strategy_types`` lists each type's fields."""
        answer = await self.command(
            "create_strategy",
            name=name,
            type=strategy_type,
            pair=pair,
            config=config,
            **_venue(exchange, connection_id),
        )
        return from_wire(Strategy, answer["strategy"])

    async def _control(self, action: str, strategy_id: str) -> Strategy:
        answer = await self.command(f"{action}_strategy", id=strategy_id)
        return from_wire(Strategy, answer["strategy"])

    async def start_strategy(self, strategy_id: str) -> Strategy:
        return await self._control("start", strategy_id)

    async def pause_strategy(self, strategy_id: str) -> Strategy:
        return await self._control("pause", strategy_id)

    async def resume_strategy(self, strategy_id: str) -> Strategy:
        return await self._control("resume", strategy_id)

    async def stop_strategy(self, strategy_id: str) -> Strategy:
        """Stops it and cancels its open orders."""
        return await self._control("stop", strategy_id)

    async def delete_strategy(self, strategy_id: str) -> Strategy:
        return await self._control("delete", strategy_id)

    async def get_strategies(self) -> list[Strategy]:
        answer = await self.command("get_strategies")
        return [from_wire(Strategy, s) for s in answer.get("strategies", [])]

    async def get_strategy_types(self) -> list[dict[str, Any]]:
        answer = await self.command("get_strategy_types")
        return list(answer.get("types", []))

    # ---- risk and the engine ---------------------------------------------

    async def kill_switch(self, mode: str = "stop", reason: str | None = None) -> dict[str, Any]:
        """``pause`` (strategies hold, orders stay) or ``stop`` (every order
        cancelled); new orders are refused until ``reset_kill_switch``."""
        return _data(await self.command("kill_switch", mode=mode, reason=reason))

    async def reset_kill_switch(self) -> dict[str, Any]:
        return _data(await self.command("reset_kill_switch"))

    async def get_risk_limits(self) -> dict[str, Any]:
        return _data(await self.command("get_risk_limits"))

    async def get_system_status(self) -> SystemStatus:
        answer = await self.command("get_system_status")
        return from_wire(SystemStatus, answer.get("data", answer))

    async def start_engine(self) -> None:
        await self.command("start_engine")

    async def stop_engine(self) -> None:
        await self.command("stop_engine")

    async def get_agents(self) -> list[dict[str, Any]]:
        return list((await self.command("get_agents")).get("agents", []))

    async def get_session(self) -> dict[str, Any]:
        """This connection as the engine sees it: id, scope, endpoint."""
        return _data(await self.command("get_session"))

    # ---- exchange connections --------------------------------------------

    async def create_connection(
        self,
        exchange: str,
        api_key: str,
        api_secret: str,
        *,
        testnet: bool = False,
        name: str | None = None,
        rest_url: str | None = None,
        ws_url: str | None = None,
        pairs: list[str] | None = None,
    ) -> Connection:
        """Connects an exchange account (``binance``); the keys are sealed
        by the engine and never shown again."""
        answer = await self.command(
            "create_connection",
            exchange=exchange,
            api_key=api_key,
            api_secret=api_secret,
            testnet=testnet,
            name=name,
            rest_url=rest_url,
            ws_url=ws_url,
            pairs=pairs,
        )
        return from_wire(Connection, answer["connection"])

    async def test_connection(self, connection_id: str) -> dict[str, Any]:
        return _data(await self.command("test_connection", id=connection_id))

    async def delete_connection(self, connection_id: str) -> None:
        await self.command("delete_connection", id=connection_id)

    async def get_connections(self) -> list[Connection]:
        answer = await self.command("get_connections")
        return [from_wire(Connection, c) for c in answer.get("connections", [])]

    # ---- backtests ---------------------------------------------------------

    async def start_backtest(
        self,
        strategy_type: str,
        pair: str,
        data: str | list[str],
        config: dict[str, Any] | None = None,
        *,
        start: str | int | None = None,
        end: str | int | None = None,
        initial_balances: dict[str, Money] | None = None,
        fee: Money | dict[str, Money] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> str:
        """Queues a backtest of a strategy over data files (see
        ``get_data_files``); ``start``/``end`` are ms or ``YYYY-MM-DD``.
        Answers its id; follow it with ``backtest_progress`` and
        ``backtest_result``."""
        balances = (
            None
            if initial_balances is None
            else {k: _json.money(f"initial_balances.{k}", v) for k, v in initial_balances.items()}
        )
        fees: Any = fee
        if isinstance(fee, dict):
            fees = {k: _json.money(f"fee.{k}", v) for k, v in fee.items()}
        elif fee is not None:
            fees = _json.money("fee", fee)
        answer = await self.command(
            "start_backtest",
            strategy={"type": strategy_type, "config": config or {}},
            pair=pair,
            data=data,
            **{"from": start, "to": end},
            initial_balances=balances,
            fee=fees,
            settings=settings,
        )
        return str(answer["backtest_id"])

    async def get_backtest(self, backtest_id: str) -> dict[str, Any]:
        """The run: ``status``, the latest ``progress``, the ``result`` once
        completed."""
        return await self.command("get_backtest", backtest_id=backtest_id)

    async def cancel_backtest(self, backtest_id: str) -> None:
        await self.command("cancel_backtest", backtest_id=backtest_id)

    async def get_backtests(self) -> list[dict[str, Any]]:
        return list((await self.command("get_backtests")).get("backtests", []))

    async def get_data_files(self) -> list[dict[str, Any]]:
        return list((await self.command("get_data_files")).get("files", []))

    async def backtest_progress(self, backtest_id: str) -> AsyncIterator[BacktestProgress]:
        """Yields the run's progress as it comes, and ends when it has ended
        (then ``backtest_result`` answers at once)."""
        async with self._backtest_events(backtest_id) as stream:
            if await self._finished(backtest_id) is not None:
                return
            async for e in stream:
                if e.type == "backtest_progress":
                    yield BacktestProgress.of(e.data)
                elif e.type == "backtest_result":
                    return
                elif e.type == "resync" and await self._finished(backtest_id) is not None:
                    return

    async def backtest_result(self, backtest_id: str, timeout: float = 600) -> BacktestResult:
        """Waits for the run to end (at most ``timeout`` seconds) and answers
        how it ended."""

        async def wait() -> BacktestResult:
            async with self._backtest_events(backtest_id) as stream:
                done = await self._finished(backtest_id)
                if done is not None:
                    return done
                async for e in stream:
                    if e.type == "backtest_result":
                        return _result(e.data)
                    if e.type == "resync":
                        done = await self._finished(backtest_id)
                        if done is not None:
                            return done
            raise CommandTimeout("the client was closed before the backtest ended")

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise CommandTimeout(f"backtest {backtest_id} did not end within {timeout} s") from None

    def _backtest_events(self, backtest_id: str) -> EventStream:
        return self.events(
            "backtest_progress",
            "backtest_result",
            where=lambda e: e.get("backtest_id") == backtest_id,
        )

    async def _finished(self, backtest_id: str) -> BacktestResult | None:
        run = await self.get_backtest(backtest_id)
        status = run.get("status")
        if status not in _FINISHED:
            return None
        return BacktestResult(
            backtest_id=backtest_id,
            status=str(status),
            report=run.get("result"),
            error=run.get("error") or (run.get("backtest") or {}).get("error"),
        )


def _result(event: dict[str, Any]) -> BacktestResult:
    return BacktestResult(
        backtest_id=str(event.get("backtest_id")),
        status=str(event.get("status")),
        report=event.get("data"),
        error=event.get("error"),
    )
