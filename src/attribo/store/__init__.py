"""The analytics store: where the pipeline writes events and reports read them."""

from attribo.store.base import EventQuery, Store

__all__ = ["EventQuery", "Store"]
