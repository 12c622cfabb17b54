"""The durable event log between the collector and the pipeline."""

from attribo.log.base import Log, LogEntry

__all__ = ["Log", "LogEntry"]
