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

Partitioned by app and device (`shared` given; `ATTRIBO_PARTITION_BY=device`), one app
spreads over every worker, and a touch can sit on another partition than the install it
wins. Then a record's arrival sequence is its stream position (the stream orders every
partition), every worker puts the touches it reads into the shared index and says how far
each of its partitions is indexed, and an entry with installs or opens waits until every
other partition is indexed up to it, the worker's later entries behind it: it then sees
exactly the touches that arrived before it, whoever read them, and a replay of the store
agrees. Taking a partition rebuilds the whole local index from the store (after storing
what is pending); the shared index holds what other workers read and did not store yet.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import msgspec

from attribo.attribution.answer import DeepLinkOf, answer_message, live_answer
from attribo.attribution.live import LiveAttributor, shared_lookup_keys, shared_touch_rows
from attribo.attribution.restore import restore_live
from attribo.events.record import StoredEvent, decode_records, encode_records
from attribo.fraud.feed import ContextFeed, FeedGroup
from attribo.log.base import LogEntry, PartitionedLog, partition_of
from attribo.pipeline.store_writer import CONSUMER
from attribo.store.base import Store
from attribo.store.schema import payloads_to_table

if TYPE_CHECKING:
    from attribo.fraud.gate import FraudGate

_log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
_POLL_S = 0.003  # an empty log is asked again this soon: answers wait on it
Answer = tuple[str, str, bytes]  # app id, event id, answer JSON
# Device partitions: a record's sequence is SEQ_BASE + its entry's stream offset * SEQ_SLOT +
# its place in the entry: above the clock-based sequences (microseconds) stored before, and
# room for far more records than an entry carries (a batch holds 1,000 at most).
SEQ_BASE = 1 << 53
SEQ_SLOT = 1 << 16
_ALONE_PUBLISH_S = 0.05  # holding every partition, progress is published this often


class SharedTouches(Protocol):
    """The touchpoint index every worker shares, and how far each partition is in it."""

    def add(self, touches: Iterable[tuple[str, str, int, bytes]]) -> int:
        """Index (app id, match key, event time, packed touch) rows."""
        ...

    def fetch(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[bytes]]:
        """The packed touches of each (app id, match key)."""
        ...

    def publish_indexed(self, reached: dict[int, int]) -> None:
        """Say how far the given partitions are indexed (offsets only grow)."""
        ...

    def indexed(self) -> dict[int, int]:
        """How far every partition is indexed."""
        ...


class SharedFraud(Protocol):
    """The feed of what each worker folded into its fraud statistics (device partitions)."""

    def publish(self, groups: list[FeedGroup]) -> None:
        """Send this worker's counted entries."""
        ...

    def read(self) -> list[FeedGroup]:
        """Every entry other workers sent since the last read."""
        ...

    def rewind(self) -> None:
        """Read from the start of what the feed keeps again."""
        ...


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
    # Device partitions: entries read, decoded, not attributed yet (waiting for others).
    backlog: deque[tuple[LogEntry, list[StoredEvent]]] = field(default_factory=deque)


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
        shared: SharedTouches | None = None,
        fraud_feed: SharedFraud | None = None,
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
        self.shared = shared  # set: partitioned by app and device (see the module docstring)
        self.waits = 0  # entries that had to wait for another partition's touches
        # Device partitions: fraud statistics over every worker's devices of an app.
        self.fraud_feed = fraud_feed if shared is not None and fraud is not None else None
        self._counted = ContextFeed()
        self._fraud_restored = False
        if self.fraud_feed is not None and fraud is not None:
            fraud.feed = self._counted
        self._next_publish = 0.0
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
            if self.shared is not None:
                return self._step_shared(self.shared)
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
                    self._take_entry(held, entry, decode_records(entry.payload), answers, kept)
                taken += len(entries)
            self._finish(answers, kept)
            return taken

    def _finish(self, answers: list[tuple[str, bytes]], kept: list[Answer]) -> None:
        """Send the step's answers; store the held partitions when a batch is due."""
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

    def _step_shared(self, shared: SharedTouches) -> int:
        """One step partitioned by device: read, attribute what every partition's touches
        allow, index the touches read, and say how far each held partition got."""
        alone = len(self.held) == self._log.partitions  # then its own progress is all it needs
        reached = {} if alone else shared.indexed()
        feed = self.fraud_feed
        if feed is not None and self.held:  # after `indexed`: what it promises, the feed holds
            self._counted.receive(feed.read())
        offsets = {
            p: h.read_offset
            for p, h in self.held.items()
            if self.partitions.holds(p) and not h.backlog
        }
        read = self._log.read_partitions(offsets, self._max_bytes) if offsets else {}
        drained = self._log.drained_through()
        for partition, entries in read.items():
            self.held[partition].backlog.extend((e, decode_records(e.payload)) for e in entries)
        for partition, held in self.held.items():  # this worker's own touches are at hand
            reached[partition] = self._indexed_through(held, drained.get(partition, -1))
        answers: list[tuple[str, bytes]] = []
        kept: list[Answer] = []
        rows: list[tuple[str, str, int, bytes]] = []
        taken = 0
        # In stream order over the held partitions: an entry then never waits for another
        # partition of this worker (all before it is done), only for other workers'; the
        # entry with the lowest offset anywhere never waits, so some worker always moves.
        heads = [(h.backlog[0][0].next_offset, p) for p, h in self.held.items() if h.backlog]
        heapq.heapify(heads)
        while heads:
            _, partition = heapq.heappop(heads)
            held = self.held[partition]
            entry, records = held.backlog[0]
            if any(r.type in ("install", "open") for r in records) and not all(
                reached.get(p, -1) >= entry.next_offset
                for p in range(self._log.partitions)
                if p != partition
            ):
                # Another partition may still hold a touch from before it. Everything
                # later waits too, on this worker's other partitions as well: then its
                # records are attributed, and counted for fraud, in stream order.
                self.waits += 1
                break
            base = SEQ_BASE + entry.next_offset * SEQ_SLOT
            for place, record in enumerate(records):
                record.seq = base + place
            if feed is not None:
                self._fraud().begin_entry(partition, entry.next_offset)
            self._take_entry(held, entry, records, answers, kept, shared)
            if feed is not None:
                self._fraud().end_entry()
            rows.extend(shared_touch_rows(records))
            held.backlog.popleft()
            reached[partition] = self._indexed_through(held, drained.get(partition, -1))
            taken += 1
            if held.backlog:
                heapq.heappush(heads, (held.backlog[0][0].next_offset, partition))
        shared.add(rows)  # before saying so: an install elsewhere may rely on them
        if feed is not None:  # so are the statistics it counts
            feed.publish(self._counted.take_outbox())
            if self.held:  # what comes here next lies after this: fold in what is before it
                ends = [self._indexed_through(h, drained.get(p, -1)) for p, h in self.held.items()]
                self._fraud().fold_before(min(ends) + 1)
        now = time.monotonic()
        if not alone or now >= self._next_publish:  # alone, nobody waits on it: now and then
            self._next_publish = now + _ALONE_PUBLISH_S
            shared.publish_indexed(
                {p: self._indexed_through(h, drained.get(p, -1)) for p, h in self.held.items()}
            )
        self._finish(answers, kept)
        return taken

    def _take_entry(
        self,
        held: _Held,
        entry: LogEntry,
        records: list[StoredEvent],
        answers: list[tuple[str, bytes]],
        kept: list[Answer],
        shared: SharedTouches | None = None,
    ) -> None:
        """Attribute an entry's records, answer them if asked, and hold them for the store."""
        self._attribute(records, shared)
        if entry.reply is not None:
            self._answer(records, entry.reply, answers, kept)
        if not held.pending:
            held.pending_since = time.monotonic()
        held.pending.extend(records)
        held.read_offset = entry.next_offset

    def _fraud(self) -> FraudGate:
        assert self.fraud is not None
        return self.fraud

    @staticmethod
    def _indexed_through(held: _Held, drained: int) -> int:
        """The offset up to which a held partition's touches are all indexed."""
        if held.backlog:  # everything before the waiting entry
            return held.backlog[0][0].next_offset - 1
        return max(held.read_offset, drained)  # what was read, or the stream's end if empty

    def _answer(
        self, records: list[StoredEvent], reply: str, answers: list, kept: list[Answer]
    ) -> None:
        for record in records:
            if record.type in ("install", "open"):
                answer = live_answer(self.attributor, record, True, self._deep_link_of)
                answers.append((reply, answer_message(record.app_id, record.event_id, answer)))
                kept.append((record.app_id, record.event_id, _json.encode(answer)))

    def _attribute(self, records: list[StoredEvent], shared: SharedTouches | None = None) -> None:
        if shared is None:
            last = self._last_seq
            for record in records:  # stream order is arrival order from here on
                last = record.seq = max(record.seq, last + 1)
            self._last_seq = last
        if self.fraud is not None:
            self.fraud.screen(records)
        # Holding every partition, every touch before these records passed through here.
        others = shared is not None and len(self.held) < self._log.partitions
        wanted = shared_lookup_keys(records) if others else []
        self.attributor.observe(records, shared.fetch(wanted) if shared and wanted else None)
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
        if self.shared is not None:  # every app has devices there: rebuild all, from a
            self._write(list(self.held))  # store that holds this worker's work too
            for app_id in self.attributor.app_ids():
                self._forget_app(app_id)
            apps = _stored_apps(self._store)
        else:
            apps = [a for a in _stored_apps(self._store) if partition_of(a, count) in wanted]
        restore_live(self.attributor, self._store, None, 0, apps)
        if self.fraud is not None and (self.fraud_feed is None or not self._fraud_restored):
            self._restore_fraud(apps)
        self._last_seq = max(self._last_seq, _stored_max_seq(self._store))
        start = self._log.start_offset()
        for partition in partitions:
            stored = self._store.consumer_offset(consumer_name(partition))
            offset = start if stored is None else stored
            self.held[partition] = _Held(offset, offset)
        _log.info("took partitions %s (%d apps restored)", partitions, len(apps))

    def _restore_fraud(self, apps: list[str]) -> None:
        """The taken apps' fraud statistics from the store. With the feed, once, at the
        first take: the feed then carries on from each partition's stored offset (the
        store holds every worker's stored entries; the feed's older copies are passed over)."""
        from attribo.fraud.restore import restore_fraud  # the fraud extra: only if used

        assert self.fraud is not None
        restore_fraud(self.fraud, self._store, None, 0, apps)
        if self.fraud_feed is not None:
            self._fraud_restored = True
            count = self._log.partitions
            stored = {p: self._store.consumer_offset(consumer_name(p)) for p in range(count)}
            self._counted.counted_through({p: o for p, o in stored.items() if o is not None})

    def _let_go(self, partition: int) -> None:
        """Forget a partition and the state of its apps (unstored work is redone elsewhere)."""
        self.held.pop(partition, None)
        count = self._log.partitions
        if self.shared is None:  # partitioned by device, apps stay: taking rebuilds them
            for app_id in self.attributor.app_ids():
                if partition_of(app_id, count) == partition:
                    self._forget_app(app_id)
        elif not self.held and self.fraud is not None and self.fraud_feed is not None:
            # Holding nothing, it stops reading the feed; the next take starts afresh.
            self._counted = self.fraud.feed = ContextFeed()
            self._fraud_restored = False
            self.fraud_feed.rewind()
        self._log.release_partition(partition)

    def _forget_app(self, app_id: str) -> None:
        self.attributor.forget(app_id)
        if self.fraud is not None and self.fraud_feed is None:  # the feed counts each entry once
            self.fraud.forget(app_id)

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
