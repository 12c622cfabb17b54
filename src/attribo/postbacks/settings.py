"""Delivery settings of the postback dispatcher, with their defaults and documentation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class PostbackSettings:
    """How hard, how fast and how widely postbacks are delivered; `help` is the documentation."""

    max_attempts: int = field(
        default=8, metadata={"help": "attempts per postback before it is marked failed"}
    )
    base_delay_s: float = field(
        default=1.0, metadata={"help": "delay before the first retry; doubles per attempt"}
    )
    max_delay_s: float = field(
        default=300.0, metadata={"help": "longest backoff between two attempts"}
    )
    max_retry_after_s: float = field(
        default=3600.0, metadata={"help": "longest Retry-After a receiver may ask us to wait"}
    )
    timeout_s: float = field(default=10.0, metadata={"help": "time limit of one HTTP attempt"})
    concurrency: int = field(default=16, metadata={"help": "most postbacks in flight at once"})
    poll_interval_s: float = field(
        default=1.0,
        metadata={"help": "how often the queue is re-read for work queued by other processes"},
    )

    def __post_init__(self) -> None:
        """Fail loudly on settings that would stall or spin the dispatcher."""
        if self.max_attempts < 1:
            raise ValueError("postback max_attempts must be at least 1")
        if self.concurrency < 1:
            raise ValueError("postback concurrency must be at least 1")
        for name in ("base_delay_s", "max_delay_s", "timeout_s", "poll_interval_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"postback {name} must be positive")
        if self.max_delay_s < self.base_delay_s:
            raise ValueError("postback max_delay_s must be at least base_delay_s")


def postback_settings_table() -> list[tuple[str, str, str]]:
    """(name, default, help) of every postback setting, for the CLI and docs."""
    return [(f.name, repr(f.default), f.metadata["help"]) for f in fields(PostbackSettings)]
