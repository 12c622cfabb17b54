"""The cluster worker: attributes the log in stream order, answers collectors, fills the store.

Cluster collectors keep no state, so attribution moves here, behind the log: one worker
consumes the stream in order, runs fraud's screen and the live rules on each micro-batch,
sends the answers that collectors wait for (installs and opens posted alone), and writes the
attributed records to the store with the offset they reach, in one transaction, then
acknowledges the log. Arrival sequence numbers are made strictly increasing in stream order,
so a replay of the store (`attribo attribute --rebuild`) takes the same decisions.

Restart after a crash: the live index is rebuilt from the store alone, and consumption resumes
at the stored offset; the entries after it were never stored, and are attributed again in the
same order, so they get the same decisions (and answers) as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from attribo.attribution.answer import DeepLinkOf, answer_message, live_answer
from attribo.attribution.live import LiveAttributor
from attribo.events.record import StoredEvent, decode_records, encode_records
from attribo.log.base import Log
from attribo.pipeline.store_writer import CONSUMER
from attribo.store.base import Store
from attribo.store.schema import payloads_to_table

if TYPE_CHECKING:
    from attribo.fraud.gate import FraudGate

_log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
_POLL_S = 0.003  # an empty log is asked again this soon: answers wait on it
Answer = tuple[str, str, bytes]  # app id, event id, answer JSON


class AttributingWorker:
    """A background thread: log → attribution → answers → store, at least once, idempotent."""

    def __init__(
        self,
        log: Log,
        store: Store,
        attributor: LiveAttributor,
        *,
        fraud: FraudGate | None,
        deep_link_of: DeepLinkOf,
        send_answers: Callable[[list[tuple[str, bytes]]], None],
        keep_answers: Callable[[list[Answer]], None],
        max_events: int = 100_000,
        idle_ms: int = 200,
    ) -> None:
        self._log = log
        self._store = store
        self.attributor = attributor
        self.fraud = fraud
        self._deep_link_of = deep_link_of
        self._send_answers = send_answers
        self._keep_answers = keep_answers
        self._max_events = max_events
        self._max_bytes = max_events * 200
        self._idle_s = idle_ms / 1000
        stored = store.consumer_offset(CONSUMER)
        self.offset = log.start_offset() if stored is None else stored  # what the store holds
        self._read_offset = self.offset  # what has been attributed
        self._pending: list[StoredEvent] = []
        self._pending_since = 0.0
        self._last_seq = _stored_max_seq(store)
        self.errors = 0
        self.answered = 0
        self.stored = 0  # events written to the store since start
        # Called with each attributed micro-batch (outgoing postbacks, the live feed).
        self.on_attributed: Callable[[list[StoredEvent]], None] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # step() from the thread or from stop(drain=True)
        self._thread = threading.Thread(target=self._run, name="attribo-worker", daemon=True)

    def start(self) -> None:
        """Start consuming in the background."""
        self._thread.start()

    def step(self) -> int:
        """Attribute one read of the log and store when due; returns how many entries it took."""
        with self._lock:
            entries = self._log.read(self._read_offset, self._max_bytes)
            answers: list[tuple[str, bytes]] = []
            kept: list[Answer] = []
            for entry in entries:
                records = decode_records(entry.payload)
                self._attribute(records)
                if entry.reply is not None:
                    for record in records:
                        if record.type in ("install", "open"):
                            answer = live_answer(self.attributor, record, True, self._deep_link_of)
                            message = answer_message(record.app_id, record.event_id, answer)
                            answers.append((entry.reply, message))
                            kept.append((record.app_id, record.event_id, _json.encode(answer)))
                if not self._pending:
                    self._pending_since = time.monotonic()
                self._pending.extend(records)
                self._read_offset = entry.next_offset
            if kept:
                self._keep_answers(kept)  # first: a repeat that races the answer finds it
                self._send_answers(answers)
                self.answered += len(answers)
            due = len(self._pending) >= self._max_events or (
                self._pending and time.monotonic() - self._pending_since >= self._idle_s
            )
            if due:
                self._write()
            return len(entries)

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

    def _write(self) -> None:
        """Store the attributed records with the offset they reach, then acknowledge the log."""
        if not self._pending:
            return
        table = payloads_to_table([encode_records(self._pending)], use_threads=False)
        self._store.write_events(table, CONSUMER, self._read_offset)
        self.stored += len(self._pending)
        self._pending = []
        self.offset = self._read_offset
        trim = getattr(self._log, "trim", None)
        if trim is not None:
            trim(self.offset)

    def lag_bytes(self) -> int:
        """How far the store is behind the log (messages, for NATS)."""
        return max(0, self._log.end_offset() - self.offset)

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
        """Stop the thread, first attributing and storing what the log holds if `drain`."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if drain:
            while self.step():
                pass
            with self._lock:
                self._write()


def _stored_max_seq(store: Store) -> int:
    """The highest arrival sequence stored (0 for an empty store)."""
    table = store.query("SELECT max(seq) AS s FROM events", [])
    value = table.column("s")[0].as_py() if table.num_rows else None
    return int(value or 0)
