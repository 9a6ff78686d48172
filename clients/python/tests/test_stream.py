"""Events through handlers and ``events()``: in ``seq`` order, filtered,
never dropped for a slow reader, and the statistics the document names."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import laicai
from conftest import REPO
from laicai import ConnectionConfig, SubscriptionConfig, WebSocketClient


async def test_handlers_and_events_see_the_same_events_in_seq_order(client: WebSocketClient) -> None:
    seen: list[dict[str, Any]] = []
    every: list[int] = []
    client.add_message_handler("order_update", seen.append)

    async def on_any(data: dict[str, Any]) -> None:  # a coroutine handler
        if isinstance(data.get("seq"), int):
            every.append(data["seq"])

    client.add_message_handler("*", on_any)
    stream = client.events("order_update", "trade", symbol="BTC-USDT")
    placed = [await client.place_order("BTC-USDT", "buy", "0.001", str(30000 + i)) for i in range(5)]
    await client.place_order("BTC-USDT", "sell", "0.001")  # fills: a trade
    got: list[laicai.Event] = []
    async for e in stream:
        got.append(e)
        if e.type == "trade":
            break
    await stream.aclose()
    assert [e.seq for e in got] == sorted({e.seq for e in got if e.seq is not None})
    opened = [e.model for e in got if e.type == "order_update" and e["status"] == "open"]
    assert [o.order_id for o in opened if isinstance(o, laicai.Order)] == [p.order_id for p in placed]
    trade = got[-1].model
    assert isinstance(trade, laicai.Trade) and isinstance(trade.price, Decimal)
    await asyncio.sleep(0.3)
    assert [d["orderId"] for d in seen if d["status"] == "open"] == [p.order_id for p in placed]
    assert every == sorted(set(every)), "handlers see each seq once, in order"


async def test_a_slow_handler_drops_market_data_never_an_order_event(make_engine: Any) -> None:
    engine = make_engine((REPO / "configs/fast-feed.toml").read_text())
    config = ConnectionConfig(engine.url, max_pending_market_data=50)
    async with WebSocketClient(config) as client:
        orders: list[str] = []

        async def slow(data: dict[str, Any]) -> None:
            await asyncio.sleep(0.02)

        client.add_message_handler("price", slow)
        client.add_message_handler("orderbook", slow)
        client.add_message_handler("order_update", lambda d: orders.append(d["orderId"]))
        placed = []
        for i in range(40):
            placed.append((await client.place_order("BTC-USDT", "buy", "0.001", str(30000 + i))).order_id)
        deadline = asyncio.get_running_loop().time() + 30
        while len(orders) < 40 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        assert orders == placed
        stats = await client.get_stats()
        assert stats["market_data_dropped"] > 0, stats


async def test_get_stats_has_the_documents_shape(client: WebSocketClient) -> None:
    await client.subscribe(
        "dash",
        SubscriptionConfig(symbols=["BTC-USDT"], data_types=["price", "volume"], update_frequency="1s"),
    )
    await client.get_balances()
    stats = await client.get_stats()
    assert set(stats) >= {
        "messages_received",
        "messages_sent",
        "reconnect_count",
        "errors",
        "state",
        "connection_id",
        "subscriptions_count",
        "uptime",
    }
    assert stats["state"] == "connected" and stats["subscriptions_count"] == 1
    assert stats["messages_sent"] >= 3 and stats["messages_received"] > 0
    assert stats["connection_id"].startswith("session-")
    assert stats["uptime"].startswith("0:00:")
    await client.unsubscribe("dash")
    assert (await client.get_stats())["subscriptions_count"] == 0
    await client.disconnect()
    stats = await client.get_stats()
    assert stats["state"] == "disconnected" and stats["uptime"] == "0:00:00"


async def test_the_subscription_limit_is_the_clients_and_the_engines(engine: Any) -> None:
    async with WebSocketClient(ConnectionConfig(engine.url, max_subscriptions=2)) as client:
        for i in range(2):
            await client.subscribe(f"s{i}", SubscriptionConfig(["BTC-USDT"], ["price"]))
        try:
            await client.subscribe("s3", SubscriptionConfig(["BTC-USDT"], ["price"]))
        except laicai.SubscriptionLimitError:
            pass
        else:
            raise AssertionError("a third subscription was accepted")
    # The engine's own limit (50 topics) answers as a refused command.
    async with WebSocketClient(ConnectionConfig(engine.url)) as client:
        pairs = [f"P{i}-USDT" for i in range(60)]
        try:
            await client.subscribe("many", SubscriptionConfig(pairs, ["price"]))
        except laicai.CommandError as e:
            assert e.code == "subscription_limit"
        else:
            raise AssertionError("60 topics were accepted")
