"""``WebSocketClient``: one connection to the engine, held open. It
reconnects with jittered exponential backoff, re-subscribes, replays what
it missed (handlers and ``events()`` see every event once, in ``seq``
order, or a ``resync`` and the fresh ``snapshot`` when the engine cannot
replay), pings, correlates each command with its answer by ``request_id``,
and keeps the statistics the original SDK document names.

The socket is read by one task that never waits on user code: events go
to per-reader inboxes, and a slow handler or ``events()`` reader can hold
up only itself (market data is dropped for it past a bound; order and
every other event never)."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import random
import time
from collections import deque
from datetime import timedelta
from typing import Any, Awaitable, Callable, Union

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from . import _json
from .commands import Commands
from .config import ConnectionConfig, ConnectionState, SubscriptionConfig
from .errors import (
    AuthenticationError,
    CommandError,
    CommandTimeout,
    ConnectError,
    ConnectionLostError,
    NotConnectedError,
    RateLimitedError,
    SubscriptionLimitError,
)
from .event import MARKET_DATA, Event
from .sequencer import Kind, Resync, Sequencer

log = logging.getLogger("laicai")

#: A handler gets the event's fields (``data["symbol"]``, ``data["price"]``
#: …, money as Decimal); it may be a plain function or a coroutine function.
Handler = Callable[[dict[str, Any]], Union[None, Awaitable[None]]]

_REPLAY_ID = "py-replay"
_SUBSCRIPTION_ERRORS = ("subscription_limit", "invalid_message_format", "unsupported_message_type")
_MAX_RECONNECT_DELAY = 30.0


class _Inbox:
    """Events waiting for one reader. Unbounded for every event but market
    data, which is dropped (and counted) once ``limit`` events wait."""

    def __init__(self, limit: int) -> None:
        self.items: deque[Event] = deque()
        self.limit = limit
        self.dropped = 0
        self._wake = asyncio.Event()
        self.closed = False

    def put(self, event: Event) -> None:
        if len(self.items) >= self.limit and event.type in MARKET_DATA:
            self.dropped += 1
            return
        self.items.append(event)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def get(self) -> Event | None:
        while not self.items:
            if self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        return self.items.popleft()


class EventStream:
    """An ``async for`` iterator over events, registered from the moment it
    was made (nothing between ``events()`` and the first ``await`` is
    missed)."""

    def __init__(self, inbox: _Inbox, detach: Callable[[], None]) -> None:
        self._inbox = inbox
        self._detach = detach

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        event = await self._inbox.get()
        if event is None:
            self._detach()
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stops the stream; events already queued are dropped."""
        self._detach()

    @property
    def pending(self) -> int:
        """Events received but not yet read."""
        return len(self._inbox.items)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class WebSocketClient(Commands):
    """A client of one engine. ``await connect()``, then subscribe, add
    handlers, iterate ``events()`` and send commands."""

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self._state = ConnectionState.DISCONNECTED
        self._state_changed = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._closing = False
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._subscriptions: dict[str, SubscriptionConfig] = {}
        self._handlers: dict[str, list[Handler]] = {}
        self._handler_inbox = _Inbox(config.max_pending_market_data)
        self._streams: list[tuple[_Inbox, Callable[[Event], bool]]] = []
        self._sequencer: Sequencer[Event] = Sequencer()
        self._connected_at: float | None = None
        self._connection_id: str | None = None
        self._catch_up_by: float | None = None
        self.messages_received = 0
        self.messages_sent = 0
        self.reconnect_count = 0
        self.errors = 0
        self.resyncs = 0
        self.handler_errors = 0
        #: The last error that ended a connection or an attempt.
        self.last_error: Exception | None = None
        #: Which of ``config.urls()`` the connection is (or was last) on.
        self._url_index = 0

    # ---- state -----------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    def _set_state(self, state: ConnectionState) -> None:
        if state is not self._state:
            log.debug("state %s -> %s", self._state.value, state.value)
            self._state = state
            self._state_changed.set()
            self._state_changed = asyncio.Event()

    async def wait_for_connection(self, timeout: float | None = None) -> None:
        """Waits until connected; raises ``NotConnectedError`` after
        ``timeout`` seconds (``config.timeout`` by default) or at once when
        the client has given up or was disconnected."""
        deadline = time.monotonic() + (self.config.timeout if timeout is None else timeout)
        while self._state is not ConnectionState.CONNECTED:
            if self._state in (ConnectionState.DISCONNECTED, ConnectionState.ERROR):
                raise NotConnectedError(f"not connected ({self._state.value})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise NotConnectedError(f"not connected within the timeout ({self._state.value})")
            try:
                await asyncio.wait_for(self._state_changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    # ---- connecting ------------------------------------------------------

    async def connect(self) -> bool:
        """Opens the connection. Answers whether it is up; a refused or
        unreachable engine answers ``False`` (``last_error`` says why).
        Raises ``AuthenticationError`` (HTTP 401) and ``RateLimitedError``
        (HTTP 429), which retrying will not cure."""
        if self._state is ConnectionState.CONNECTED:
            return True
        self._closing = False
        self._set_state(ConnectionState.CONNECTING)
        try:
            ws = await self._open_any(start=0)
        except (AuthenticationError, RateLimitedError) as e:
            self.errors += 1
            self.last_error = e
            self._set_state(ConnectionState.ERROR)
            raise
        except ConnectError as e:
            self.errors += 1
            self.last_error = e
            log.warning("%s", e)
            self._set_state(ConnectionState.ERROR)
            return False
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="laicai-handlers")
        self._runner = asyncio.create_task(self._hold(ws), name="laicai-connection")
        return True

    async def disconnect(self) -> None:
        """Closes the connection; pending commands fail with
        ``ConnectionLostError``. Handlers and subscriptions are kept for a
        later ``connect()``."""
        self._closing = True
        ws, runner = self._ws, self._runner
        if ws is not None:
            await ws.close()
        if runner is not None:
            try:
                await asyncio.wait_for(runner, self.config.timeout)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                runner.cancel()
        self._fail_pending()
        self._set_state(ConnectionState.DISCONNECTED)

    async def close(self) -> None:
        """Disconnects and ends every ``events()`` iterator and the handler
        task: the client is done."""
        await self.disconnect()
        for inbox, _ in self._streams:
            inbox.close()
        self._handler_inbox.close()
        if self._dispatcher is not None:
            try:
                await asyncio.wait_for(self._dispatcher, self.config.timeout)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._dispatcher.cancel()

    async def __aenter__(self) -> WebSocketClient:
        if not await self.connect():
            raise self.last_error or NotConnectedError("not connected")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _open_any(self, start: int) -> ClientConnection:
        """Opens the first of the URLs, from ``start`` round, that
        answers; raises the last failure if none does."""
        urls = self.config.urls()
        failure: ConnectError | None = None
        for k in range(len(urls)):
            i = (start + k) % len(urls)
            try:
                ws = await self._open(urls[i])
            except (AuthenticationError, RateLimitedError):
                raise
            except ConnectError as e:
                failure = e
                continue
            self._url_index = i
            return ws
        assert failure is not None
        raise failure

    @property
    def url(self) -> str:
        """The URL connected to (or last connected to)."""
        return self.config.urls()[self._url_index]

    async def _open(self, url: str) -> ClientConnection:
        cfg = self.config
        headers: dict[str, str] = {}
        subprotocols: list[Any] | None = None
        if cfg.api_key:
            if cfg.token_in_subprotocol:
                subprotocols = [f"bearer.{cfg.api_key}"]
            else:
                headers["Authorization"] = f"Bearer {cfg.api_key}"
        try:
            ws = await ws_connect(
                url,
                additional_headers=headers or None,
                subprotocols=subprotocols,
                open_timeout=cfg.timeout,
                ping_interval=cfg.heartbeat_interval,
                ping_timeout=cfg.timeout,
                close_timeout=cfg.timeout,
                max_size=64 * 1024 * 1024,
                max_queue=None,
                compression=None,
            )
        except InvalidStatus as e:
            status = e.response.status_code
            if status == 401:
                raise AuthenticationError(
                    url, "HTTP 401: the token is missing or wrong", status
                ) from None
            if status == 429:
                raise RateLimitedError(
                    url, "HTTP 429: too many failed attempts; wait and retry", status
                ) from None
            raise ConnectError(url, f"HTTP {status}", status) from None
        except (OSError, asyncio.TimeoutError, WebSocketException) as e:
            raise ConnectError(url, str(e) or type(e).__name__) from None
        self._ws = ws
        self._connected_at = time.monotonic()
        self._set_state(ConnectionState.CONNECTED)
        return ws

    async def _hold(self, ws: ClientConnection) -> None:
        """Serves connections until ``disconnect()`` or the reconnect
        attempts run out."""
        while True:
            reason = await self._serve(ws)
            self._ws = None
            self._connected_at = None
            self._fail_pending()
            if self._closing:
                self._set_state(ConnectionState.DISCONNECTED)
                return
            self.errors += 1
            log.warning("connection to %s lost (%s): reconnecting", self.url, reason)
            self._set_state(ConnectionState.RECONNECTING)
            next_ws = await self._reconnect()
            if next_ws is None:
                return
            ws = next_ws
            self.reconnect_count += 1

    async def _reconnect(self) -> ClientConnection | None:
        cfg = self.config
        for attempt in range(cfg.max_reconnect_attempts):
            cap = min(_MAX_RECONNECT_DELAY, cfg.reconnect_delay * 2**attempt)
            await asyncio.sleep(cap * random.uniform(0.5, 1.0))
            if self._closing:
                self._set_state(ConnectionState.DISCONNECTED)
                return None
            try:
                # Each attempt tries every URL, the one after the URL lost first.
                return await self._open_any(start=self._url_index + 1)
            except (AuthenticationError, RateLimitedError) as e:
                self.last_error = e
                log.error("reconnect refused: %s", e)
                break
            except ConnectError as e:
                self.errors += 1
                self.last_error = e
                log.warning("reconnect attempt %d failed: %s", attempt + 1, e)
        log.error("giving up reconnecting to %s", cfg.url)
        self._set_state(ConnectionState.ERROR)
        return None

    async def _serve(self, ws: ClientConnection) -> str:
        """Reads one connection until it ends; answers why it ended."""
        first: list[dict[str, Any]] = []
        since = self._sequencer.reconnected()
        if since is not None:
            for sub_id, sub in self._subscriptions.items():
                first.append(sub.frame("subscribe", sub_id))
            first.append({"cmd": "replay", "since_seq": since, "request_id": _REPLAY_ID})
            self._catch_up_by = time.monotonic() + self.config.timeout
        watchdog = asyncio.create_task(self._watch_catch_up())
        session = asyncio.create_task(self._learn_session())
        try:
            for frame in first:
                await ws.send(_json.dumps(frame))
                self.messages_sent += 1
            async for message in ws:
                self.messages_received += 1
                if isinstance(message, bytes):
                    self.errors += 1
                    continue
                self._on_text(message)
            return f"closed by the engine ({ws.close_code})"
        except ConnectionClosed as e:
            return str(e)
        except OSError as e:
            return str(e)
        finally:
            watchdog.cancel()
            session.cancel()

    async def _learn_session(self) -> None:
        """The engine's id for this connection (``get_session``)."""
        try:
            answer = await self.command("get_session")
            self._connection_id = answer.get("session_id")
        except Exception as e:  # noqa: BLE001 - a missing id is only a statistic
            log.debug("get_session: %s", e)

    async def _watch_catch_up(self) -> None:
        """A replay that does not complete in time ends in a resync."""
        while True:
            await asyncio.sleep(0.1)
            if (
                self._sequencer.catching_up
                and self._catch_up_by is not None
                and time.monotonic() > self._catch_up_by
            ):
                self._deliver(self._sequencer.resync("the replay did not complete in time"))

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(
                    ConnectionLostError(
                        "the connection was lost before the answer came; "
                        "the command may or may not have run"
                    )
                )

    # ---- incoming --------------------------------------------------------

    def _on_text(self, text: str) -> None:
        try:
            raw = _json.loads(text)
        except ValueError:
            self.errors += 1
            log.warning("a frame that is not JSON")
            return
        if not isinstance(raw, dict):
            self.errors += 1
            return
        kind = raw.get("type")
        if kind == "response":
            rid = raw.get("request_id")
            if rid == _REPLAY_ID:
                if raw.get("success"):
                    outs = self._sequencer.replayed(int(raw.get("seq") or 0), int(raw.get("count") or 0))
                else:
                    outs = self._sequencer.resync(f"{raw.get('error')}: {raw.get('message')}")
                self._deliver(outs)
                return
            fut = self._pending.pop(str(rid), None) if rid is not None else None
            if fut is not None and not fut.done():
                fut.set_result(raw)
            return
        if kind in ("subscribed", "unsubscribed"):
            key = f"sub:{raw.get('subscription_id') or raw.get('channel')}"
            fut = self._pending.pop(key, None)
            if fut is not None and not fut.done():
                fut.set_result(raw)
            return
        if kind == "pong":
            return
        if kind == "error":
            self.errors += 1
            rid = raw.get("request_id")
            fut = self._pending.pop(str(rid), None) if rid is not None else None
            if fut is None and raw.get("error") in _SUBSCRIPTION_ERRORS:
                # A refused (un)subscribe carries no id: it answers the oldest.
                oldest = next((k for k in self._pending if k.startswith("sub:")), None)
                fut = self._pending.pop(oldest) if oldest is not None else None
            if fut is not None and not fut.done():
                fut.set_exception(
                    CommandError(str(raw.get("error")), str(raw.get("detail", "")), raw)
                )
        seq = raw.get("seq")
        event = Event(str(kind), seq if isinstance(seq, int) else None, raw)
        if event.seq is None:
            self._deliver([event])
            return
        # The engine replays everything but market data and the errors it
        # numbers for one connection.
        order = (
            Kind.SNAPSHOT
            if kind == "snapshot"
            else Kind.OWN
            if kind == "error"
            else Kind.MARKET
            if kind in MARKET_DATA
            else Kind.RETAINED
        )
        self._deliver(self._sequencer.on_frame(event.seq, order, event))

    def _deliver(self, outs: list[Event | Resync]) -> None:
        for out in outs:
            if isinstance(out, Resync):
                self.resyncs += 1
                log.warning("resync: %s", out.reason)
                event = Event("resync", None, {"type": "resync", "reason": out.reason})
            else:
                event = out
            # Only what some handler takes goes to the handler task.
            if event.type in self._handlers or "*" in self._handlers:
                self._handler_inbox.put(event)
            for inbox, wanted in self._streams:
                if wanted(event):
                    inbox.put(event)

    async def _dispatch(self) -> None:
        """Hands each event to the handlers for its type, in order."""
        while True:
            event = await self._handler_inbox.get()
            if event is None:
                return
            for handler in self._handlers.get(event.type, []) + self._handlers.get("*", []):
                try:
                    result = handler(event.data)
                    if inspect.isawaitable(result):
                        await result
                except Exception:  # noqa: BLE001 - one bad handler must not stop the rest
                    self.handler_errors += 1
                    log.exception("a handler for %s failed", event.type)

    # ---- what the user calls ---------------------------------------------

    def add_message_handler(self, data_type: str, handler: Handler) -> None:
        """Calls ``handler(data)`` for every event of ``data_type`` (an event
        type such as ``price`` or ``order_update``, ``resync``, or ``*``)."""
        self._handlers.setdefault(data_type, []).append(handler)

    def remove_message_handler(self, data_type: str, handler: Handler) -> None:
        handlers = self._handlers.get(data_type, [])
        if handler in handlers:
            handlers.remove(handler)

    def events(
        self,
        *types: str,
        symbol: str | None = None,
        where: Callable[[Event], bool] | None = None,
    ) -> EventStream:
        """Every event from this call on (of ``types``, for ``symbol``,
        passing ``where``), in ``seq`` order, for ``async for``; ``resync``
        events always pass. Ends when the client is closed or the stream is
        (``await stream.aclose()``, or use it in ``async with``)."""
        wanted_types = frozenset(types)

        def wanted(e: Event) -> bool:
            if e.type == "resync":
                return True
            if wanted_types and e.type not in wanted_types:
                return False
            if symbol is not None and e.data.get("symbol") != symbol:
                return False
            return where is None or where(e)

        inbox = _Inbox(self.config.max_pending_market_data)
        entry = (inbox, wanted)
        self._streams.append(entry)

        def detach() -> None:
            if entry in self._streams:
                self._streams.remove(entry)
            inbox.items.clear()
            inbox.close()

        return EventStream(inbox, detach)

    async def subscribe(self, subscription_id: str, config: SubscriptionConfig) -> dict[str, Any]:
        """Subscribes (or replaces ``subscription_id``); kept across
        reconnects. Answers the engine's ``subscribed`` frame."""
        if (
            subscription_id not in self._subscriptions
            and len(self._subscriptions) >= self.config.max_subscriptions
        ):
            raise SubscriptionLimitError(
                f"subscription limit reached ({self.config.max_subscriptions})"
            )
        answer = await self._ask(f"sub:{subscription_id}", config.frame("subscribe", subscription_id))
        self._subscriptions[subscription_id] = config
        return answer

    async def unsubscribe(self, subscription_id: str) -> None:
        config = self._subscriptions.pop(subscription_id, None)
        if config is not None and self._state is ConnectionState.CONNECTED:
            await self._ask(f"sub:{subscription_id}", config.frame("unsubscribe", subscription_id))

    async def command(self, cmd: str, **params: Any) -> dict[str, Any]:
        """Sends a command and answers its ``response``; a refusal raises
        ``CommandError`` with the engine's code. Parameters left ``None`` are
        not sent; decimals go as exact strings."""
        frame: dict[str, Any] = {k: v for k, v in params.items() if v is not None}
        frame["cmd"] = cmd
        rid = f"py-{next(self._ids)}"
        frame["request_id"] = rid
        answer = await self._ask(rid, frame)
        if answer.get("success") is True:
            return answer
        raise CommandError(str(answer.get("error") or "unknown"), str(answer.get("message") or ""), answer)

    async def _ask(self, key: str, frame: dict[str, Any]) -> dict[str, Any]:
        if self._state is not ConnectionState.CONNECTED:
            await self.wait_for_connection()
        ws = self._ws
        if ws is None:
            raise NotConnectedError("not connected")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        try:
            await ws.send(_json.dumps(frame))
            self.messages_sent += 1
            return await asyncio.wait_for(fut, self.config.timeout)
        except asyncio.TimeoutError:
            raise CommandTimeout(f"no answer within {self.config.timeout} s") from None
        except ConnectionClosed:
            raise ConnectionLostError(
                "the connection was lost before the answer came; the command may or may not have run"
            ) from None
        finally:
            if self._pending.get(key) is fut:
                del self._pending[key]

    async def get_stats(self) -> dict[str, Any]:
        """The connection's statistics, as the original SDK document shapes
        them, and more: ``last_seq``, ``duplicates_dropped``, ``resyncs``,
        ``market_data_dropped``, ``handler_errors``."""
        up = (
            timedelta(seconds=time.monotonic() - self._connected_at)
            if self._connected_at is not None and self._state is ConnectionState.CONNECTED
            else timedelta(0)
        )
        return {
            "messages_received": self.messages_received,
            "messages_sent": self.messages_sent,
            "reconnect_count": self.reconnect_count,
            "errors": self.errors,
            "state": self._state.value,
            "url": self.url,
            "connection_id": self._connection_id,
            "subscriptions_count": len(self._subscriptions),
            "uptime": str(up),
            "last_seq": self._sequencer.last,
            "duplicates_dropped": self._sequencer.duplicates,
            "resyncs": self.resyncs,
            "market_data_dropped": self._handler_inbox.dropped
            + sum(inbox.dropped for inbox, _ in self._streams),
            "handler_errors": self.handler_errors,
        }
