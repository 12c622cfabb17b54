"""The `Log` contract: durable appends, ordered replay from any returned offset, restart."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a fixture type only: test dirs are not packages
    from conftest import LogOpener


def payload(i: int, size: int = 100) -> bytes:
    return f"{i:08d}".encode() * (size // 8)


def read_all(log, offset: int = 0, max_bytes: int = 1 << 20) -> list[tuple[int, bytes]]:
    entries: list[tuple[int, bytes]] = []
    while batch := log.read(offset, max_bytes):
        entries.extend((e.next_offset, e.payload) for e in batch)
        offset = batch[-1].next_offset
    return entries


def test_empty_log_reads_nothing(open_log: LogOpener) -> None:
    log = open_log()
    assert log.start_offset() == log.end_offset()
    assert log.read(log.start_offset(), 1 << 20) == []
    asyncio.run(log.flush())  # nothing pending: returns at once
    assert log.end_offset() == log.start_offset()


def test_appends_replay_in_order_with_increasing_offsets(open_log: LogOpener) -> None:
    log = open_log()

    async def append_all() -> list[int]:
        return [await log.append(payload(i)) for i in range(100)]

    offsets = asyncio.run(append_all())
    assert offsets == sorted(set(offsets)), "offsets must strictly increase"
    assert log.end_offset() == offsets[-1]
    entries = read_all(log, log.start_offset())
    assert [p for _, p in entries] == [payload(i) for i in range(100)]
    assert [o for o, _ in entries] == offsets


def test_reading_from_a_returned_offset_resumes_after_it(open_log: LogOpener) -> None:
    log = open_log()

    async def append_all() -> list[int]:
        return [await log.append(payload(i, 300)) for i in range(40)]

    offsets = asyncio.run(append_all())
    for k in (0, 7, 13, 39):
        assert [p for _, p in read_all(log, offsets[k])] == [
            payload(i, 300) for i in range(k + 1, 40)
        ]


def test_small_read_budget_still_returns_one_entry(open_log: LogOpener) -> None:
    log = open_log()
    big = b"x" * 2000
    asyncio.run(log.append(big))
    entries = log.read(log.start_offset(), 1)
    assert [e.payload for e in entries] == [big]


def test_concurrent_appends_are_all_durable_and_distinct(open_log: LogOpener) -> None:
    log = open_log()

    async def many() -> list[int]:
        return list(await asyncio.gather(*(log.append(payload(i, 64)) for i in range(500))))

    offsets = asyncio.run(many())
    assert len(set(offsets)) == 500
    entries = read_all(log, log.start_offset())
    assert sorted(p for _, p in entries) == sorted(payload(i, 64) for i in range(500))
    by_payload = {p: o for o, p in entries}
    assert all(by_payload[payload(i, 64)] == offsets[i] for i in range(500))


def test_entries_survive_close_and_reopen(open_log: LogOpener) -> None:
    log = open_log()

    async def write(start: int, stop: int) -> int:
        end = 0
        for i in range(start, stop):
            end = await log.append(payload(i))
        return end

    end = asyncio.run(write(0, 50))
    log.close()
    log = open_log()
    assert log.end_offset() == end
    assert [p for _, p in read_all(log, log.start_offset())] == [payload(i) for i in range(50)]
    end2 = asyncio.run(write(50, 60))
    assert end2 > end
    assert [p for _, p in read_all(log, end)] == [payload(i) for i in range(50, 60)]


def test_empty_payload_round_trips(open_log: LogOpener) -> None:
    log = open_log()
    asyncio.run(log.append(b""))
    asyncio.run(log.append(b"after"))
    assert [p for _, p in read_all(log, log.start_offset())] == [b"", b"after"]
