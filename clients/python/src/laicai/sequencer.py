"""What the client hands its handlers, in ``seq`` order and exactly once,
across reconnects. Live, an event at or below the last delivered ``seq`` is
a duplicate. After a reconnect everything is held until the ``replay`` the
client asked for has arrived in full (the engine sends replayed and live
frames interleaved, and the replay's answer may overtake its frames); then
the held events go out in order. When the engine cannot replay
(``replay_gap``), the caller is told to resync and gets the fresh
``snapshot``, then what followed it. No I/O: the client feeds it frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar, Union

T = TypeVar("T")


class Kind(Enum):
    #: Kept by the engine for ``replay`` (everything but market data).
    RETAINED = 0
    #: Market data: numbered, never replayed.
    MARKET = 1
    #: The ``snapshot`` of a new connection: the state as of its ``seq``.
    SNAPSHOT = 2
    #: Numbered for this connection alone (an ``error`` answering one of its
    #: frames): delivered in order, never replayed, so not counted as one of
    #: the replay's events (counting it would let the held events go before
    #: the replay's last ones came, and those would then be dropped as
    #: already delivered).
    OWN = 3


@dataclass(frozen=True)
class Resync:
    """Events were missed and cannot be replayed; what follows starts with
    the fresh snapshot."""

    reason: str


@dataclass
class _CatchUp(Generic[T]):
    since: int
    # (seq, 0) for events, (seq, 1) for a snapshot: a snapshot at `seq`
    # comes after the event with that seq.
    held: dict[tuple[int, int], tuple[Kind, T]] = field(default_factory=dict)
    replayed: tuple[int, int] | None = None
    # Retained events held within the replay's range, once it is known.
    have: int = 0


class Sequencer(Generic[T]):
    def __init__(self) -> None:
        self.last = 0
        self.started = False
        self.duplicates = 0
        self._catch_up: _CatchUp[T] | None = None

    @property
    def catching_up(self) -> bool:
        return self._catch_up is not None

    def reconnected(self) -> int | None:
        """A new connection is up: the ``seq`` to replay from, or ``None``
        for the first connection (its snapshot is the start)."""
        if not self.started:
            return None
        self._catch_up = _CatchUp(since=self.last)
        return self.last

    def on_frame(self, seq: int, kind: Kind, item: T) -> list[Union[T, Resync]]:
        c = self._catch_up
        if c is None:
            if kind is Kind.SNAPSHOT and not self.started:
                self.started = True
                self.last = seq
                return [item]
            if self.started and seq <= self.last:
                self.duplicates += 1
                return []
            self.started = True
            self.last = seq
            return [item]
        if kind is not Kind.SNAPSHOT and seq <= c.since:
            self.duplicates += 1
            return []
        key = (seq, 1 if kind is Kind.SNAPSHOT else 0)
        if key in c.held:
            self.duplicates += 1
            c.held[key] = (kind, item)
            return []
        c.held[key] = (kind, item)
        if c.replayed is None:
            return []
        if kind is Kind.RETAINED and seq <= c.replayed[0]:
            c.have += 1
        return self._release()

    def replayed(self, upto: int, count: int) -> list[Union[T, Resync]]:
        """The engine answered the replay: it sent ``count`` events up to
        ``upto``."""
        c = self._catch_up
        if c is not None and c.replayed is None:
            c.replayed = (upto, count)
            c.have = sum(
                1
                for (seq, _), (kind, _) in c.held.items()
                if kind is Kind.RETAINED and seq <= upto
            )
        return self._release()

    def resync(self, reason: str) -> list[Union[T, Resync]]:
        """The replay is impossible or never completed: resync from the held
        snapshot, then what came after it."""
        c = self._catch_up
        if c is None:
            return []
        self._catch_up = None
        keys = sorted(c.held)
        snapshots = [k for k in keys if c.held[k][0] is Kind.SNAPSHOT]
        start = snapshots[-1] if snapshots else (0, 0)
        out: list[Union[T, Resync]] = [Resync(reason)]
        for key in keys:
            kind, item = c.held[key]
            if key < start or (kind is Kind.SNAPSHOT and key != start):
                continue
            self.last = max(self.last, key[0])
            out.append(item)
        return out

    def _release(self) -> list[Union[T, Resync]]:
        c = self._catch_up
        if c is None or c.replayed is None:
            return []
        if c.have < c.replayed[1]:
            return []
        self._catch_up = None
        out: list[Union[T, Resync]] = []
        for key in sorted(c.held):
            kind, item = c.held[key]
            # The snapshot is redundant once nothing is missing; market data
            # older than what was delivered is stale.
            if kind is Kind.SNAPSHOT or (kind is Kind.MARKET and key[0] <= self.last):
                continue
            self.last = max(self.last, key[0])
            out.append(item)
        return out
