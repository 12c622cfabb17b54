"""The cluster worker: attributes its partitions of the log in order, answers, fills the store.

Cluster collectors keep no state, so attribution moves here, behind the log. The stream is
split by app into partitions; a worker holds some of them (leases: one worker per partition
at a time) and reads each in stream order, so every app, and every device of it, is
attributed by one worker. On each micro-batch it runs fraud's screen and the live rules,
sends the answers that collectors wait for (installs and opens posted alone), writes the
attributed records to the store with the offset each partition reaches, then acknowledges
the log. Arrival sequence numbers are made strictly increasing in each partition's order, so
a replay of the store (`attribo attribute --rebuild`) takes the same decisions.

Taking a partition (at start, or from a worker that died or gave it back): its apps' live
index is rebuilt from the store alone, and consumption resumes at its stored offset; the
entries after it were never stored, and are attributed again in the same order, so they get
the same decisions (and answers) as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import msgspec

from attribo.attribution.answer import DeepLinkOf, answer_message, live_answer
from attribo.attribution.live import LiveAttributor
from attribo.attribution.restore import restore_live
from attribo.events.record import StoredEvent, decode_records, encode_records
from attribo.log.base import PartitionedLog, partition_of
from attribo.pipeline.store_writer import CONSUMER
from attribo.store.base import Store
from attribo.store.schema import payloads_to_table

if TYPE_CHECKING:
    from attribo.fraud.gate import FraudGate

_log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
_POLL_S = 0.003  # an empty log is asked again this soon: answers wait on it
Answer = tuple[str, str, bytes]  # app id, event id, answer JSON


class Partitions(Protocol):
    """Which partitions this worker may work on (leases, or all of them)."""

    def refresh(self) -> tuple[set[int], set[int]]:
        """Renew and claim; returns (held now, to give back once stored)."""
        ...

    def holds(self, partition: int) -> bool:
        """Whether work on `partition` may still be stored."""
        ...

    def release(self, partitions: Iterable[int]) -> None:
        """Give partitions back (their work is stored)."""
        ...

    def leave(self) -> None:
        """Give everything back (a clean stop)."""
        ...


class AllPartitions:
    """Every partition, for a worker that is the only one (tests, a single box)."""

    def __init__(self, partitions: int) -> None:
        self._all = set(range(partitions))

    def refresh(self) -> tuple[set[int], set[int]]:
        return set(self._all), set()

    def holds(self, partition: int) -> bool:
        return True

    def release(self, partitions: Iterable[int]) -> None:
        """Nothing to give back to."""

    def leave(self) -> None:
        """Nothing to give back to."""


def consumer_name(partition: int) -> str:
    """The store's name for a partition's reader (its offset is kept under it)."""
    return f"{CONSUMER}-p{partition}"


@dataclass
class _Held:
    """A partition this worker attributes: what is stored, read, and waiting to be stored."""

    offset: int  # what the store holds
    read_offset: int  # what has been attributed
    pending: list[StoredEvent] = field(default_factory=list)
    pending_since: float = 0.0


class AttributingWorker:
    """A background thread: log → attribution → answers → store, at least once, idempotent."""

    def __init__(
        self,
        log: PartitionedLog,
        store: Store,
        attributor: LiveAttributor,
        *,
        fraud: FraudGate | None,
        deep_link_of: DeepLinkOf,
        send_answers: Callable[[list[tuple[str, bytes]]], None],
        keep_answers: Callable[[list[Answer]], None],
        partitions: Partitions | None = None,
        max_events: int = 100_000,
        idle_ms: int = 200,
        refresh_s: float = 1.0,
    ) -> None:
        self._log = log
        self._store = store
        self.attributor = attributor
        self.fraud = fraud
        self._deep_link_of = deep_link_of
        self._send_answers = send_answers
        self._keep_answers = keep_answers
        self.partitions = partitions or AllPartitions(log.partitions)
        self._max_events = max_events
        self._max_bytes = max_events * 200
        self._idle_s = idle_ms / 1000
        self._refresh_s = refresh_s
        self._next_refresh = 0.0
        self.held: dict[int, _Held] = {}
        self._last_seq = 0
        self.errors = 0
        self.answered = 0
        self.stored = 0  # events written to the store since start
        # Called with each attributed micro-batch (outgoing postbacks, the live feed).
        self.on_attributed: Callable[[list[StoredEvent]], None] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # step() from the thread or from stop(drain=True)
        self._thread = threading.Thread(target=self._run, name="attribo-worker", daemon=True)
        with self._lock:
            self._rebalance()

    def start(self) -> None:
        """Start consuming in the background."""
        self._thread.start()

    def step(self) -> int:
        """Attribute one read of the held partitions and store when due; returns entries taken."""
        with self._lock:
            if time.monotonic() >= self._next_refresh:
                self._rebalance()
            offsets = {
                p: held.read_offset for p, held in self.held.items() if self.partitions.holds(p)
            }
            read = self._log.read_partitions(offsets, self._max_bytes) if offsets else {}
            answers: list[tuple[str, bytes]] = []
            kept: list[Answer] = []
            taken = 0
            for partition, entries in read.items():
                held = self.held[partition]
                for entry in entries:
                    records = decode_records(entry.payload)
                    self._attribute(records)
                    if entry.reply is not None:
                        self._answer(records, entry.reply, answers, kept)
                    if not held.pending:
                        held.pending_since = time.monotonic()
                    held.pending.extend(records)
                    held.read_offset = entry.next_offset
                taken += len(entries)
            if kept:
                self._keep_answers(kept)  # first: a repeat that races the answer finds it
                self._send_answers(answers)
                self.answered += len(answers)
            waiting = [h for h in self.held.values() if h.pending]
            due = sum(len(h.pending) for h in waiting) >= self._max_events or any(
                time.monotonic() - h.pending_since >= self._idle_s for h in waiting
            )
            if due:
                self._write(list(self.held))
            return taken

    def _answer(
        self, records: list[StoredEvent], reply: str, answers: list, kept: list[Answer]
    ) -> None:
        for record in records:
            if record.type in ("install", "open"):
                answer = live_answer(self.attributor, record, True, self._deep_link_of)
                answers.append((reply, answer_message(record.app_id, record.event_id, answer)))
                kept.append((record.app_id, record.event_id, _json.encode(answer)))

    def _attribute(self, records: list[StoredEvent]) -> None:
        last = self._last_seq
        for record in records:  # stream order is arrival order from here on
            last = record.seq = max(record.seq, last + 1)
        self._last_seq = last
        if self.fraud is not None:
            self.fraud.screen(records)
        self.attributor.observe(records)
        if self.fraud is not None:
            self.fraud.after(records)
        if self.on_attributed is not None and records:
            self.on_attributed(records)

    def _write(self, partitions: list[int]) -> None:
        """Store the partitions' attributed records with the offsets they reach, in one
        write, then acknowledge the log; a partition whose lease is in doubt is let go."""
        for partition in [p for p in partitions if not self.partitions.holds(p)]:
            _log.warning("partition %d: lease lost, letting it go unstored", partition)
            self._let_go(partition)
        ready = {p: self.held[p] for p in partitions if p in self.held and self.held[p].pending}
        if not ready:
            return
        records = [record for held in ready.values() for record in held.pending]
        table = payloads_to_table([encode_records(records)], use_threads=False)
        offsets = {consumer_name(p): held.read_offset for p, held in ready.items()}
        self._store.write_events_at(table, offsets)
        self.stored += len(records)
        for partition, held in ready.items():
            held.pending = []
            held.offset = held.read_offset
            self._log.trim(held.offset, partition)

    def _rebalance(self) -> None:
        """Renew leases; take up new partitions; store and give back the excess."""
        self._next_refresh = time.monotonic() + self._refresh_s
        try:
            now_held, excess = self.partitions.refresh()
        except Exception:  # Redis briefly away: work on while the leases are trusted
            self.errors += 1
            _log.exception("could not renew partition leases")
            return
        for partition in [p for p in self.held if p not in now_held]:
            _log.warning("partition %d: lease lost to another worker", partition)
            self._let_go(partition)
        taken = [p for p in sorted(now_held) if p not in self.held and p not in excess]
        if taken:
            self._take(taken)
        if excess:
            self._write(sorted(excess))
            for partition in excess:
                self._let_go(partition)
            self.partitions.release(excess)

    def _take(self, partitions: list[int]) -> None:
        """Start on partitions: stored offsets, and their apps' index rebuilt from the store."""
        wanted = set(partitions)
        count = self._log.partitions
        apps = [a for a in _stored_apps(self._store) if partition_of(a, count) in wanted]
        restore_live(self.attributor, self._store, None, 0, apps)
        self._last_seq = max(self._last_seq, _stored_max_seq(self._store))
        start = self._log.start_offset()
        for partition in partitions:
            stored = self._store.consumer_offset(consumer_name(partition))
            offset = start if stored is None else stored
            self.held[partition] = _Held(offset, offset)
        _log.info("took partitions %s (%d apps restored)", partitions, len(apps))

    def _let_go(self, partition: int) -> None:
        """Forget a partition and the state of its apps (unstored work is redone elsewhere)."""
        self.held.pop(partition, None)
        count = self._log.partitions
        for app_id in self.attributor.app_ids():
            if partition_of(app_id, count) == partition:
                self.attributor.forget(app_id)
                if self.fraud is not None:
                    self.fraud.forget(app_id)
        self._log.release_partition(partition)

    def lag_bytes(self) -> int:
        """How far the store is behind the log (messages), on every partition: the held ones
        from memory, the others (held elsewhere, or by nobody for now) from the store."""
        lag = 0
        for partition, end in self._log.partition_ends().items():
            held = self.held.get(partition)
            offset = held.offset if held else self._store.consumer_offset(consumer_name(partition))
            lag += max(0, end - (offset or 0))
        return lag

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                taken = self.step()
            except Exception:  # keep consuming; a failed store write is retried
                self.errors += 1
                _log.exception("worker step failed; retrying")
                self._stop.wait(1.0)
                continue
            if not taken:
                self._stop.wait(_POLL_S)

    def stop(self, drain: bool = True) -> None:
        """Stop the thread; if `drain`, first attribute and store what the log holds, and give
        the partitions back."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if drain:
            while self.step():
                pass
            with self._lock:
                self._write(list(self.held))
                self.held.clear()
                self.partitions.leave()


def _stored_max_seq(store: Store) -> int:
    """The highest arrival sequence stored (0 for an empty store)."""
    table = store.query("SELECT max(seq) AS s FROM events", [])
    value = table.column("s")[0].as_py() if table.num_rows else None
    return int(value or 0)


def _stored_apps(store: Store) -> list[str]:
    """Every app with stored events."""
    table = store.query("SELECT DISTINCT app_id FROM events", [])
    return [str(a) for a in table.column("app_id").to_pylist()]
