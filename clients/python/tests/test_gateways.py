"""The SDK between two gateways (``laicai gateway``) on a real
``nats-server -js``: the gateway it is on is killed mid-stream, it fails
over to the other, replays from its last seq, and has every order event
once; when the engine stops, the gateway's own alert reaches a client.
Skipped without ``nats-server``, unless ``LAICAI_REQUIRE_NATS`` is set
(as CI does)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import laicai
import pytest
from conftest import Engine, engine_binary, free_port, wait_healthy
from test_reconnect import every_update_once, patient, place_and_cancel, until, watch


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[str]:
    if shutil.which("nats-server") is None:
        why = "no nats-server: apt-get install nats-server"
        assert not os.environ.get("LAICAI_REQUIRE_NATS"), why
        pytest.skip(why)
    port = free_port()
    proc = subprocess.Popen(
        ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path / "js")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "nats-server did not listen"
            time.sleep(0.02)
    yield f"nats://127.0.0.1:{port}"
    proc.kill()
    proc.wait()


class Gateway:
    """``laicai gateway`` with the engine's config, on its own port."""

    def __init__(self, engine: Engine, bus: str, node: str) -> None:
        self.port = free_port()
        self.log = engine.tmp / f"{node}.log"
        self.proc = subprocess.Popen(
            [
                str(engine_binary()),
                "gateway",
                "--config",
                str(engine.config),
                "--bus",
                bus,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--engine",
                "py",
                "--node",
                node,
            ],
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("LAICAI_")},
        )
        wait_healthy(self.port, self.proc, self.log)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/stream"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


async def test_the_sdk_fails_over_between_two_gateways(tmp_path: Path, nats: str) -> None:
    engine = Engine(tmp_path, extra=f'[bus]\nurl = "{nats}"\nengine = "py"\n')
    engine.start()
    gateways = [Gateway(engine, nats, "gw-1"), Gateway(engine, nats, "gw-2")]
    try:
        first, second = gateways
        watcher, updates, resyncs = await watch(patient(first, fallback_urls=[second.url]))
        # The gateway answers once it has reached the engine.
        status = await reached(watcher)
        assert status.raw.get("node") == "gw-1", status.raw
        placed: list[str] = []
        trading = asyncio.create_task(place_and_cancel(second, 40, placed))
        await until(lambda: len(placed) >= 10)
        first.kill()
        await trading
        stats = await every_update_once(watcher, updates, resyncs, placed)
        assert stats["url"] == second.url, stats
        # The engine stops: a client on a gateway gets the gateway's own
        # alert. Its seq is in the gap the engine leaves after its last
        # event, so the SDK does not drop it as a duplicate.
        async with laicai.WebSocketClient(patient(second)) as client:
            alerts: list[Any] = []
            client.add_message_handler("alerts", alerts.append)
            await reached(client)
            await asyncio.get_running_loop().run_in_executor(None, engine.stop)
            await until(lambda: any("not answering" in str(a) for a in alerts), 10)
    finally:
        for g in gateways:
            if g.proc.poll() is None:
                g.kill()
        engine.stop()


async def reached(client: laicai.WebSocketClient) -> laicai.SystemStatus:
    """The engine's status through a gateway, once the gateway reaches it."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        try:
            return await client.get_system_status()
        except laicai.CommandError as e:
            assert e.code == "engine_unavailable", e
            assert asyncio.get_running_loop().time() < deadline, "the gateway never reached the engine"
            await asyncio.sleep(0.1)
