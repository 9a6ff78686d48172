"""Every example in examples/ (the original document's quick start among
them) runs as a user would run it, against the real engine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import laicai
from conftest import Engine

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(engine: Engine, name: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env={**os.environ, "LAICAI_URL": engine.url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_documents_quick_start_prints_prices(engine: Engine) -> None:
    out = run(engine, "quickstart.py", "3").splitlines()
    # The handler runs as frames are read: a price that follows the
    # subscription's answer in the same read can print before the example
    # resumes to print its id, so only the first line's place is fixed.
    assert out[0] == "connected", out
    assert [line for line in out if line.startswith("subscribed: quickstart-")], out
    prices = [line for line in out if line.startswith("price update: ")]
    assert prices, out
    assert {line.split()[2] for line in prices} <= {"BTC-USDT", "ETH-USDT"}


def test_print_prices(engine: Engine) -> None:
    lines = run(engine, "print_prices.py", "ETH-USDT", "--duration", "3").splitlines()
    assert lines and all(line.startswith("ETH-USDT ") for line in lines)


def test_place_and_cancel(engine: Engine) -> None:
    out = run(engine, "place_and_cancel.py")
    assert "placed ORD-" in out and "cancelled ORD-" in out
    assert " open" in out and " canceled" in out


async def test_watch_orders_counts_by_status(engine: Engine) -> None:
    watcher = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "watch_orders.py"),
        "--duration",
        "6",
        env={**os.environ, "LAICAI_URL": engine.url},
        stdout=asyncio.subprocess.PIPE,
    )
    assert watcher.stdout is not None
    assert (await watcher.stdout.readline()).startswith(b"watching")
    async with laicai.WebSocketClient(laicai.ConnectionConfig(engine.url)) as c:
        for i in range(3):
            o = await c.place_order("BTC-USDT", "buy", "0.001", str(30000 + i))
            await c.cancel_order(o.order_id)
    out = (await watcher.stdout.read()).decode()
    assert await watcher.wait() == 0
    totals = out[out.index("totals by status:") :]
    assert "  open               3" in totals and "  canceled           3" in totals, out
    assert "  all                6" in totals


def test_backtest_prints_its_result(engine: Engine) -> None:
    out = run(engine, "backtest.py", timeout=300)
    assert "status   completed" in out and "PnL " in out, out


def test_the_sync_client_for_scripts(engine: Engine) -> None:
    with laicai.connect(engine.url) as c:
        order = c.place_order("BTC-USDT", "buy", "0.001", "30000")
        assert [o.order_id for o in c.get_orders(status="open")] == [order.order_id]
        assert c.cancel_all_orders() == 1
        assert c.get_stats()["state"] == "connected"
        # A method without its own wrapper works too.
        assert c.get_markets()[0].symbol


async def test_the_manager_keeps_clients_by_name(engine: Engine) -> Any:
    manager = laicai.WebSocketClientManager()
    clients = [manager.create_client(f"client_{i}", laicai.ConnectionConfig(engine.url)) for i in range(3)]
    for c in clients:
        assert await c.connect()
        await c.get_balances()  # answered after the session's id
    stats = await manager.get_all_stats()
    assert sorted(stats) == ["client_0", "client_1", "client_2"]
    assert {s["state"] for s in stats.values()} == {"connected"}
    assert len({s["connection_id"] for s in stats.values()}) == 3
    await manager.close_all()
    assert all(c.state is laicai.ConnectionState.DISCONNECTED for c in clients)
    assert await manager.get_all_stats() == {}
