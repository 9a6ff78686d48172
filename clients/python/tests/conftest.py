"""The real engine binary on a free loopback port with a temporary state
directory, for every test. ``LAICAI_BIN`` names the binary; by default the
one ``cargo build`` (or ``cargo test``) left in the repository's
``target/debug``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def engine_binary() -> Path:
    given = os.environ.get("LAICAI_BIN")
    candidates = [Path(given)] if given else [REPO / "target/debug/laicai", REPO / "target/release/laicai"]
    for c in candidates:
        if c.is_file():
            return c
    raise RuntimeError(
        f"no laicai binary at {', '.join(map(str, candidates))}: run `cargo build` first "
        "or set LAICAI_BIN"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``/api/health`` on ``port`` answers (30 s at most); the log's
    tail if the process exits first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"it exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"not up in 30 s: {log.read_text()[-2000:]}")


BASE_CONFIG = """
[server]
workers = 1
heartbeat_s = 1
idle_timeout_s = 5
max_messages_per_sec = 100000
{server_extra}
[engine]
status_interval_ms = 1000
[strategies]
boot = []
[backtest]
data_dir = "{data_dir}"
report_dir = ""
[storage]
fsync = false
{extra}
"""


class Engine:
    """One engine process; ``restart`` brings it back on the same port and
    state directory."""

    def __init__(self, tmp: Path, extra: str = "", server_extra: str = "") -> None:
        self.tmp = tmp
        self.port = free_port()
        self.config = tmp / "laicai.toml"
        self.config.write_text(
            BASE_CONFIG.format(
                data_dir=REPO / "data",
                extra=extra,
                server_extra=server_extra,
            )
        )
        self.log_path = tmp / "engine.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/stream"

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                str(engine_binary()),
                "--config",
                str(self.config),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--state-dir",
                str(self.tmp / "state"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("LAICAI_")},
        )
        wait_healthy(self.port, self.proc, self.log_path)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def send(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = Engine(tmp_path)
    e.start()
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[object]:
    """``make_engine(extra_toml, server_extra=…)`` for tests that need their
    own config."""
    made: list[Engine] = []

    def make(extra: str = "", server_extra: str = "") -> Engine:
        d = tmp_path / f"engine{len(made)}"
        d.mkdir()
        e = Engine(d, extra, server_extra)
        e.start()
        made.append(e)
        return e

    yield make
    for e in made:
        e.stop()


@pytest.fixture
async def client(engine: Engine) -> object:
    """A connected client of ``engine``."""
    import laicai

    c = laicai.WebSocketClient(laicai.ConnectionConfig(engine.url, timeout=10))
    assert await c.connect()
    yield c
    await c.close()
