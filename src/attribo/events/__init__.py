"""Wire protocol v1: event types, validation and the stored record shape. No I/O."""

from attribo.events.record import STORED_FIELDS, StoredEvent
from attribo.events.types import Batch, Device, Event, EventType, Platform, Source
from attribo.events.validate import FieldError, decode_batch, decode_event

__all__ = [
    "STORED_FIELDS",
    "Batch",
    "Device",
    "Event",
    "EventType",
    "FieldError",
    "Platform",
    "Source",
    "StoredEvent",
    "decode_batch",
    "decode_event",
]
