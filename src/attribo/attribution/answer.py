"""The contract's answer to an install or open: status, source, deep link of the winning link.

Computed wherever the live index is: in the collector (embedded profile) or in the worker
that attributes the stream (cluster profile), which sends it back to the waiting collector.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from attribo.attribution.live import LiveAttributor
from attribo.events.record import StoredEvent

DeepLinkOf = Callable[[str], "str | None"]  # a link id → its deep link, if any


def live_answer(
    attributor: LiveAttributor, record: StoredEvent, fresh: bool, deep_link_of: DeepLinkOf
) -> dict[str, Any]:
    """What `POST /v1/events` answers for `record` (an install or an open).

    `fresh` is False for a repeat of an install already decided: it gets the first answer.
    """
    app_id = record.app_id
    if record.type == "open" and fresh and record.attribution == "reengagement":
        return _reengagement(attributor, record, deep_link_of)
    if record.type == "install":
        state = attributor.install(app_id, record.event_id)
    else:
        state = attributor.latest_install(app_id, record)
    if state is None:
        return {"status": "organic"}
    answer: dict[str, Any] = {"status": state.status}
    if state.status == "attributed":
        answer |= {"network": state.network, "campaign": state.campaign}
        if record.type == "install":
            answer |= {"match": state.match, "touch_event_id": state.touch_event_id}
            link = deep_link_of(state.link_id) if state.link_id else None
            if link:
                answer["deep_link"] = link
    return answer


def _reengagement(
    attributor: LiveAttributor, record: StoredEvent, deep_link_of: DeepLinkOf
) -> dict[str, Any]:
    """Rule 7's answer: the retargeting campaign, and its link's deep link."""
    answer: dict[str, Any] = {
        "status": "reengagement",
        "network": record.attributed_network,
        "campaign": record.attributed_campaign,
    }
    if record.touch_event_id:  # this open started it
        answer |= {"match": record.match_type, "touch_event_id": record.touch_event_id}
    again = attributor.reengagement(record.app_id, record)
    link_id = again.touch.link_id if again is not None else None
    link = deep_link_of(link_id) if link_id else None
    if link:
        answer["deep_link"] = link
    return answer


def answer_message(app_id: str, event_id: str, answer: dict[str, Any]) -> bytes:
    """The bytes a worker sends a waiting collector for one answered event."""
    return msgspec.json.encode({"app_id": app_id, "event_id": event_id, "answer": answer})
