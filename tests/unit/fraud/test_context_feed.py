"""Fraud statistics over workers that share an app's devices, through the context feed.

Entries of one app spread over partitions held by different workers; each worker sends
what it counted and folds in the others' entries in stream order. Whatever the delivery
times (an install waits only until every earlier entry reached it, as the worker's wait
for other partitions guarantees), every verdict and every counter equals that of one gate
over the whole stream. A partition taken over mid-stream is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.events.record import StoredEvent
from attribo.fraud.context import FraudContext
from attribo.fraud.feed import ContextFeed, FeedGroup, slim
from attribo.fraud.gate import FraudGate
from attribo.fraud.scoring import FraudScorer

APP = "farm.app"
T0 = 1_700_000_000_000
Entry = tuple[int, int, list[StoredEvent]]  # offset, partition, records


def _record(n: int, kind: str, **fields: object) -> StoredEvent:
    return StoredEvent(
        app_id=APP,
        event_id=f"{kind}-{n}",
        type=kind,
        event_time=T0 + n * 1000,
        received_at=T0 + n * 1000,
        platform="android",
        **fields,  # type: ignore[arg-type]
    )


@st.composite
def _stream(draw: st.DrawFn) -> list[Entry]:
    """Installs from a farm's /24 and from elsewhere, clicks, and events of some installs."""
    entries: list[Entry] = []
    installs: list[tuple[int, StoredEvent]] = []
    for n in range(draw(st.integers(30, 70))):
        kind = draw(st.sampled_from(["install", "install", "install", "click", "event"]))
        partition = draw(st.integers(0, 3))
        if kind == "event" and installs:
            partition, install = draw(st.sampled_from(installs))  # a device's own partition
            record = _record(n, "event", gaid=install.gaid, install_event_id=install.event_id)
        elif kind == "click":
            record = _record(n, "click", gaid=f"d{n}", ip=f"10.0.0.{n % 9}", network="net")
        else:
            farm = draw(st.booleans())
            ip = f"10.66.6.{n % 40}" if farm else f"172.16.{n}.1"
            record = _record(n, "install", gaid=f"d{n}", ip=ip, device_model="Pixel 8")
            installs.append((partition, record))
        entries.append((n * 10, partition, [record]))
    return entries


def _take(gate: FraudGate, records: list[StoredEvent]) -> None:
    """What the worker runs over an entry: screen, judge the installs, then the events."""
    gate.screen(records)
    for record in records:
        if record.type == "install":
            gate.judge(_copy(record))
    gate.after(records)


def _copy(record: StoredEvent) -> StoredEvent:
    return StoredEvent(**{f: getattr(record, f) for f in record.__struct_fields__})


@dataclass
class _Worker:
    gate: FraudGate = field(default_factory=lambda: FraudGate(FraudScorer()))
    sent: list[tuple[int, FeedGroup]] = field(default_factory=list)  # offset, group

    def __post_init__(self) -> None:
        self.gate.feed = ContextFeed()

    def run(self, offset: int, partition: int, records: list[StoredEvent]) -> None:
        self.gate.begin_entry(partition, offset)
        _take(self.gate, records)
        self.gate.end_entry()
        assert self.gate.feed is not None
        self.sent.extend((group[1], group) for group in self.gate.feed.take_outbox())


def _counters(context: FraudContext) -> tuple[object, ...]:
    return (
        context.events,
        context.installs,
        dict(context.by_ip),
        dict(context.by_subnet),
        dict(context.engaged_by_subnet),
        dict(context.by_model),
        {k: (s.installs, s.clicks) for k, s in context.sources.items()},
        sorted((ip, sorted(d)) for ip, d in context.devices_by_ip.items()),
    )


def _oracle(entries: list[Entry]) -> FraudGate:
    gate = FraudGate(FraudScorer())
    for _, _, records in entries:
        _take(gate, records)
    return gate


@settings(max_examples=40, deadline=None)
@given(data=st.data(), workers=st.integers(2, 3))
def test_workers_reach_the_verdicts_and_counts_of_one_gate(
    data: st.DataObject, workers: int
) -> None:
    entries = data.draw(_stream())
    owner = {p: p % workers for p in range(4)}
    crew = [_Worker() for _ in range(workers)]
    delivered = [[0] * workers for _ in range(workers)]  # [to][from]: groups handed over

    def deliver(to: int, upto: int | None = None) -> None:
        for source in range(workers):
            if source == to:
                continue
            sent = crew[source].sent
            done = delivered[to][source]
            todo = [g for o, g in sent[done:] if upto is None or o < upto]
            assert crew[to].gate.feed is not None
            crew[to].gate.feed.receive(todo)
            delivered[to][source] = done + len(todo)

    for offset, partition, records in entries:
        me = owner[partition]
        if any(r.type == "install" for r in records):
            deliver(me, upto=offset)  # the worker waits for every earlier entry
        elif data.draw(st.booleans()):
            deliver(me)
        crew[me].run(offset, partition, records)

    oracle = _oracle(entries)
    for worker in crew:
        for key, verdict in worker.gate.verdicts.items():
            want = oracle.verdicts[key]
            assert (verdict.verdict, verdict.score) == (want.verdict, want.score), key
    for index, worker in enumerate(crew):
        deliver(index)
        worker.gate.fold_before(10**9)
        assert _counters(worker.gate.context(APP)) == _counters(oracle.context(APP))


def test_a_farm_split_over_two_workers_is_caught_by_both() -> None:
    """40 idle installs from one /24 over two partitions: without the feed neither worker
    sees more than 25 of them; with it, the installs after the 25th are rejected."""
    entries = [
        (
            n,
            n % 2,
            [_record(n, "install", gaid=f"d{n}", ip=f"10.66.6.{n}", device_model=f"m{n}")],
        )
        for n in range(40)
    ]
    crew = [_Worker(), _Worker()]
    alone = [FraudGate(FraudScorer()), FraudGate(FraudScorer())]
    for offset, partition, records in entries:
        other = crew[1 - partition]
        assert other.gate.feed is not None
        crew[partition].gate.feed.receive(g for _, g in other.sent)  # type: ignore[union-attr]
        other.sent.clear()
        crew[partition].run(offset, partition, records)
        _take(alone[partition], records)
    shared = [v.verdict for w in crew for v in w.gate.verdicts.values()]
    split = [v.verdict for g in alone for v in g.verdicts.values()]
    assert shared.count("rejected") == 40 - 25
    assert split.count("rejected") == 0


def test_an_entry_taken_over_is_counted_once() -> None:
    """Worker a counted and sent entries 1-3 of partition 0, then died; b took partition 0
    over at the stored offset 1 and reads 2 and 3 again."""
    records = {
        n: [_record(n, "install", gaid=f"d{n}", ip="10.1.1.1", device_model="x")]
        for n in (1, 2, 3, 4)
    }
    a, b = _Worker(), _Worker()
    for n in (1, 2, 3):
        a.run(n, 0, records[n])
    assert b.gate.feed is not None
    b.gate.feed.receive(g for _, g in a.sent[:2])  # 1 and 2 arrived before a died
    b.gate.fold_before(3)  # b's other partitions were past them: folded in
    for n in (2, 3, 4):  # b resumes after the stored offset
        b.run(n, 0, records[n])
    b.gate.feed.receive(g for _, g in a.sent[2:])  # a's copy of 3 arrives late
    b.gate.fold_before(10**9)
    context = b.gate.context(APP)
    assert context.installs == 4 and context.by_ip["10.1.1.1"] == 4
    assert b.gate.feed.passed_over == 2  # its own read of 2, a's late copy of 3
    # b counted 3 and 4 itself and sends only those; 2 came from a.
    assert [offset for offset, _ in b.sent] == [3, 4]


def test_slim_rows_keep_what_the_context_reads() -> None:
    """A context fed slim copies equals one fed the records themselves."""
    install = _record(1, "install", gaid="g", ip="10.2.3.4", device_model="m", user_agent="UA")
    install.attribution, install.attributed_network, install.ctit_ms = "attributed", "net", 9000
    click = _record(0, "click", gaid="g", ip="10.2.3.4", network="net", site_id="s", ad="ad1")
    event = _record(2, "event", gaid="g", install_event_id=install.event_id, revenue=2.0)
    full, thin = FraudContext(), FraudContext()
    for record in (click, install, event):
        full.add(record)
        thin.add(slim(record))
    assert _counters(full) == _counters(thin)
    assert full.sources[("net", "s")].install_ips == thin.sources[("net", "s")].install_ips
