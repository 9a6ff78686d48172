"""Every command helper against the real engine: typed answers with exact
decimals, and refusals as CommandError with the engine's code."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

import laicai
from laicai import CommandError, WebSocketClient


async def test_orders_are_placed_listed_and_cancelled_with_exact_money(client: WebSocketClient) -> None:
    resting = await client.place_order("BTC-USDT", "buy", Decimal("0.00123"), "30000.01", client_order_id="py-1")
    assert isinstance(resting, laicai.Order)
    assert (resting.status, resting.order_type, resting.time_in_force) == ("open", "limit", "gtc")
    assert resting.price == Decimal("30000.01") and resting.size == Decimal("0.00123")
    assert resting.client_order_id == "py-1"
    open_orders = await client.get_orders(status="open")
    assert [o.order_id for o in open_orders] == [resting.order_id]
    # What the order holds (its cost and the most fee it can pay, 0.1 %)
    # is reserved, to the last digit.
    usdt = {b.asset: b for b in await client.get_balances()}["USDT"]
    assert usdt.used == Decimal("30000.01") * Decimal("0.00123") * Decimal("1.001")
    assert usdt.free + usdt.used == usdt.total
    await client.cancel_order(resting.order_id)
    [cancelled] = await client.get_orders(status="canceled")
    assert cancelled.order_id == resting.order_id and cancelled.filled == 0
    usdt = {b.asset: b for b in await client.get_balances()}["USDT"]
    assert usdt.used == 0 and usdt.total == Decimal(100000)

    filled = await client.place_order("BTC-USDT", "buy", "0.01")
    assert filled.order_type == "market"
    for _ in range(50):
        trades = await client.get_trades(symbol="BTC-USDT")
        if trades:
            break
        await asyncio.sleep(0.1)
    assert trades and all(isinstance(t.price, Decimal) for t in trades)
    assert sum(t.amount for t in trades) == Decimal("0.01")
    [position] = await client.get_positions()
    assert position.symbol == "BTC-USDT" and position.size == Decimal("0.01")
    btc = {b.asset: b for b in await client.get_balances()}["BTC"]
    fees_in_btc = sum(t.fee for t in trades if t.fee_asset == "BTC")
    assert btc.total == Decimal(1) + Decimal("0.01") - fees_in_btc
    csv = await client.export_trades()
    assert csv.count("\n") >= len(trades)

    for price in ("30000", "30001"):
        await client.place_order("BTC-USDT", "buy", "0.001", price)
    assert await client.cancel_all_orders("BTC-USDT") == 2
    assert await client.get_orders(status="open") == []


async def test_refusals_carry_the_engines_code_and_message(client: WebSocketClient) -> None:
    with pytest.raises(CommandError) as e:
        await client.place_order("BTC-USDT", "buy", "-1", "30000")
    assert e.value.code == "invalid_params" and "size" in e.value.message
    assert e.value.response["success"] is False
    with pytest.raises(CommandError) as e:
        await client.cancel_order("ORD-nope")
    assert e.value.code == "not_found"
    with pytest.raises(CommandError) as e:
        await client.place_order("BTC-USDT", "buy", "1000", "60000")
    assert e.value.code == "insufficient_balance"
    with pytest.raises(CommandError) as e:
        await client.command("no_such_command")
    assert e.value.code == "unknown_command"
    # A float never reaches the wire.
    sent = (await client.get_stats())["messages_sent"]
    with pytest.raises(TypeError, match="float"):
        await client.place_order("BTC-USDT", "buy", 0.1, "30000")  # type: ignore[arg-type]
    assert (await client.get_stats())["messages_sent"] == sent


async def test_market_data_and_the_engine(client: WebSocketClient) -> None:
    book = await client.get_order_book("BTC-USDT", depth=3)
    assert len(book.bids) == 3 and len(book.asks) == 3
    assert book.bids[0][0] < book.asks[0][0]
    assert all(isinstance(p, Decimal) and isinstance(s, Decimal) for p, s in book.bids + book.asks)
    markets = {m.symbol: m for m in await client.get_markets()}
    assert markets["BTC-USDT"].tick_size == Decimal("0.01")
    status = await client.get_system_status()
    assert status.bot_status == "running" and isinstance(status.total_profit, Decimal)
    assert (await client.get_session())["scope"] == "admin"
    assert (await client.get_risk_limits())["limits"]["max_data_age_ms"] == 5000
    assert {t["strategy_type"] for t in await client.get_strategy_types()} >= {"pmm", "grid", "twap"}
    assert isinstance(await client.get_agents(), list)


async def test_the_kill_switch_refuses_orders_until_reset(client: WebSocketClient) -> None:
    state = await client.kill_switch("pause", reason="lunch")
    assert state["kill_switch"]["mode"] == "pause"
    with pytest.raises(CommandError) as e:
        await client.place_order("BTC-USDT", "buy", "0.001", "30000")
    assert e.value.code == "risk_rejected"
    await client.reset_kill_switch()
    assert (await client.place_order("BTC-USDT", "buy", "0.001", "30000")).status == "open"


async def test_a_strategy_is_created_controlled_listed_and_deleted(client: WebSocketClient) -> None:
    s = await client.create_strategy("py pmm", "pmm", "BTC-USDT", {"order_amount": "0.002"})
    assert (s.status, s.strategy_type, s.pair) == ("created", "pmm", "BTC-USDT")
    assert (await client.start_strategy(s.id)).status == "running"
    assert (await client.pause_strategy(s.id)).status == "paused"
    assert (await client.resume_strategy(s.id)).status == "running"
    with pytest.raises(CommandError) as e:
        await client.delete_strategy(s.id)
    assert e.value.code == "invalid_state"
    assert (await client.stop_strategy(s.id)).status == "stopped"
    assert [x.id for x in await client.get_strategies()] == [s.id]
    await client.delete_strategy(s.id)
    assert await client.get_strategies() == []
    with pytest.raises(CommandError) as e:
        await client.create_strategy("bad", "pmm", "BTC-USDT", {"bid_spread": "-1"})
    assert e.value.code == "invalid_params" and "bid_spread" in e.value.message


async def test_connections_are_created_tested_listed_and_deleted(client: WebSocketClient) -> None:
    conn = await client.create_connection(
        "binance",
        "key-that-must-not-come-back",
        "secret-that-must-not-come-back",
        name="nowhere",
        rest_url="http://127.0.0.1:9",
        ws_url="ws://127.0.0.1:9",
        pairs=["BTC-USDT"],
    )
    assert conn.exchange == "binance" and conn.name == "nowhere"
    listed = await client.get_connections()
    assert [c.id for c in listed] == [conn.id]
    assert "must-not-come-back" not in str(listed[0].raw)
    with pytest.raises(CommandError):
        await client.test_connection(conn.id)  # nothing listens on port 9
    await client.delete_connection(conn.id)
    assert await client.get_connections() == []
    with pytest.raises(CommandError) as e:
        await client.delete_connection(conn.id)
    assert e.value.code == "not_found"


async def test_a_backtest_reports_progress_then_its_result(client: WebSocketClient) -> None:
    files = await client.get_data_files()
    assert any(f["name"].startswith("sample") for f in files)
    bt = await client.start_backtest(
        "pmm",
        "BTC-USDT",
        "sample/BTCUSDT-trades-2025-01-01.csv.gz",
        {"bid_spread": "0.05", "ask_spread": "0.05", "order_amount": "0.01"},
        fee={"maker": "0.0002", "taker": "0.0005"},
    )
    progress = [p async for p in client.backtest_progress(bt)]
    result = await client.backtest_result(bt, timeout=120)
    assert result.status == "completed", result.error
    assert result.report is not None and isinstance(result.pnl, Decimal)
    assert all(0 <= p.progress <= 1 for p in progress)
    assert [p.progress for p in progress] == sorted(p.progress for p in progress)
    assert bt in [b["backtest_id"] for b in await client.get_backtests()]
    with pytest.raises(CommandError) as e:
        await client.start_backtest("pmm", "BTC-USDT", "../etc/passwd")
    assert e.value.code in ("invalid_params", "not_found")
