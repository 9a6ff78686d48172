"""The sequencer alone: exactly once and in order across a reconnect."""

from __future__ import annotations

from laicai.sequencer import Kind, Resync, Sequencer


def items(out: list[object]) -> list[object]:
    return ["RESYNC" if isinstance(o, Resync) else o for o in out]


def live(s: Sequencer[str]) -> None:
    assert items(s.on_frame(10, Kind.SNAPSHOT, "snap10")) == ["snap10"]
    assert items(s.on_frame(11, Kind.RETAINED, "a11")) == ["a11"]
    assert items(s.on_frame(12, Kind.MARKET, "p12")) == ["p12"]
    assert items(s.on_frame(12, Kind.MARKET, "p12")) == []
    assert s.last == 12


def test_a_replay_interleaved_with_live_frames_comes_out_once_in_order() -> None:
    s: Sequencer[str] = Sequencer()
    live(s)
    assert s.reconnected() == 12
    # Missed: 13, 15 (retained), 14 (market, never replayed). The new
    # connection's snapshot is at 15; live 16 arrives, then the replay's
    # frames, and its answer overtakes them.
    got: list[object] = []
    got += items(s.on_frame(15, Kind.SNAPSHOT, "snap15"))
    got += items(s.on_frame(16, Kind.RETAINED, "c16"))
    got += items(s.replayed(16, 3))
    got += items(s.on_frame(13, Kind.RETAINED, "a13"))
    assert got == [] and s.catching_up
    got += items(s.on_frame(15, Kind.RETAINED, "b15"))
    assert got == ["a13", "b15", "c16"]
    assert not s.catching_up
    assert items(s.on_frame(16, Kind.RETAINED, "c16")) == []
    assert items(s.on_frame(17, Kind.RETAINED, "d17")) == ["d17"]
    assert s.duplicates == 2


def test_a_frame_numbered_for_this_connection_does_not_count_towards_the_replay() -> None:
    s: Sequencer[str] = Sequencer()
    live(s)
    assert s.reconnected() == 12
    # Missed: 13, 14. The new connection's snapshot is at 14; an ``error``
    # answering one of its frames is numbered 15; 16 comes live. The replay
    # sends 13, 14, 16; its answer (3 events, up to 16) overtakes them.
    got: list[object] = []
    got += items(s.on_frame(14, Kind.SNAPSHOT, "snap14"))
    got += items(s.on_frame(15, Kind.OWN, "err15"))
    got += items(s.on_frame(16, Kind.RETAINED, "c16"))
    got += items(s.replayed(16, 3))
    got += items(s.on_frame(13, Kind.RETAINED, "a13"))
    # Counting the error, three would be held: 14 would come after the
    # release, below what was delivered, and be dropped.
    assert got == [], got
    got += items(s.on_frame(14, Kind.RETAINED, "b14"))
    assert got == ["a13", "b14", "err15", "c16"]
    assert s.last == 16


def test_an_empty_replay_releases_at_once() -> None:
    s: Sequencer[str] = Sequencer()
    live(s)
    s.reconnected()
    assert s.on_frame(12, Kind.SNAPSHOT, "snap12") == []
    assert s.replayed(12, 0) == []
    assert not s.catching_up
    assert s.on_frame(13, Kind.RETAINED, "a13") == ["a13"]


def test_a_gap_resyncs_from_the_snapshot_and_what_followed() -> None:
    s: Sequencer[str] = Sequencer()
    live(s)
    s.reconnected()
    assert s.on_frame(100_001, Kind.SNAPSHOT, "snap") == []
    assert s.on_frame(100_002, Kind.RETAINED, "x") == []
    assert items(s.resync("replay_gap")) == ["RESYNC", "snap", "x"]
    assert s.last == 100_002
    assert s.on_frame(100_003, Kind.RETAINED, "y") == ["y"]


def test_the_first_connection_starts_from_its_snapshot() -> None:
    s: Sequencer[str] = Sequencer()
    assert s.reconnected() is None
    assert s.on_frame(5, Kind.SNAPSHOT, "snap") == ["snap"]
    assert s.on_frame(5, Kind.RETAINED, "dup") == []


def test_a_large_replay_is_released_once_complete_in_linear_time() -> None:
    s: Sequencer[int] = Sequencer()
    s.on_frame(1, Kind.SNAPSHOT, 1)
    s.reconnected()
    s.replayed(100_001, 100_000)
    out: list[object] = []
    for seq in range(100_001, 1, -1):  # backwards: worst case for ordering
        out += s.on_frame(seq, Kind.RETAINED, seq)
    assert out == list(range(2, 100_002))
