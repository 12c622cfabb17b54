"""Device - IP groups: sizes and IP degrees as a walk over the links would count them."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.events.record import StoredEvent
from attribo.fraud.context import FraudContext

_T0 = 1_760_000_000_000


def _record(i: int, kind: str, device: int, ip: int) -> StoredEvent:
    return StoredEvent(
        app_id="a",
        event_id=f"e{i}",
        type=kind,
        event_time=_T0 + i,
        received_at=_T0 + i,
        platform="android",
        gaid=f"g{device}",
        ip=f"10.0.0.{ip}",
        network="net",
    )


links = st.lists(
    st.tuples(st.sampled_from(["click", "install"]), st.integers(0, 12), st.integers(0, 9)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(links)
def test_group_sizes_and_degrees_match_a_walk_of_the_graph(steps) -> None:
    context = FraudContext()
    graph = nx.Graph()  # the oracle: every link as an edge, sizes by walking them
    for i, (kind, device, ip) in enumerate(steps):
        context.add(_record(i, kind, device, ip))
        graph.add_edge(("d", f"g{device}"), ("ip", f"10.0.0.{ip}"))
        for probe in range(13):  # every device, linked or not, after every step
            node = ("d", f"g{probe}")
            expected = len(nx.node_connected_component(graph, node)) if node in graph else 1
            assert context.component_size(f"g{probe}", None) == expected
        for probe in range(10):
            ip_text = f"10.0.0.{probe}"
            node = ("ip", ip_text)
            assert context.ip_degree(ip_text) == (graph.degree(node) if node in graph else 0)
            expected = len(nx.node_connected_component(graph, node)) if node in graph else 1
            assert context.component_size(None, ip_text) == expected


def test_a_carrier_nat_joins_every_device_behind_it_into_one_group() -> None:
    context = FraudContext()
    for device in range(5_000):  # one IP shared by many devices, a second IP on some
        context.add(_record(device, "install", device, 1))
        if device % 100 == 0:
            context.add(_record(10_000 + device, "click", device, 2 + device // 1000))
    assert context.ip_degree("10.0.0.1") == 5_000
    assert context.component_size("g42", None) == 5_000 + 1 + 5  # devices and the IPs
    assert context.component_size(None, "10.0.0.200") == 1  # never seen
