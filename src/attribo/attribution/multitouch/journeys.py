"""Customer journeys: channel paths ending in conversions or nulls, stored flat for numpy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PATH_SEPARATOR = ">"
CSV_COLUMNS = ("path", "total_conversions", "total_conversion_value", "total_null")


@dataclass(frozen=True)
class UserJourney:
    """One user's touches (channel, touch time in ms since the epoch, UTC) and their outcome."""

    touches: Sequence[tuple[str, int]]
    conversion_time_ms: int | None = None  # None: the journey ended without a conversion
    value: float = 0.0


@dataclass(frozen=True, eq=False)
class Journeys:
    """Rows of paths with conversions, value and nulls; touches kept flat (CSR) for speed.

    Row `i` has touches `channel_index[offsets[i]:offsets[i + 1]]` (indices into `channels`,
    time order). `lags_ms`, when known, is aligned with `channel_index`: conversion time minus
    touch time, which time-decay needs.
    """

    channels: tuple[str, ...]
    channel_index: IntArray
    offsets: IntArray
    conversions: FloatArray
    values: FloatArray
    nulls: FloatArray
    lags_ms: FloatArray | None = None
    _row_of_touch: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows = len(self.offsets) - 1
        if rows < 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.channel_index):
            raise ValueError("offsets must start at 0 and end at the number of touches")
        lengths = np.diff(self.offsets)
        if np.any(lengths < 1):
            raise ValueError("every journey needs at least one touch")
        for name in ("conversions", "values", "nulls"):
            column = getattr(self, name)
            if column.shape != (rows,):
                raise ValueError(f"{name} must have one entry per journey ({rows})")
            if not np.all(np.isfinite(column)) or np.any(column < 0):
                raise ValueError(f"{name} must be finite and non-negative")
        if np.any((self.conversions == 0) & (self.values != 0)):
            raise ValueError("a journey without conversions cannot carry conversion value")
        if len(self.channel_index) and not (
            self.channel_index.min() >= 0 and self.channel_index.max() < len(self.channels)
        ):
            raise ValueError("channel_index points outside channels")
        if self.lags_ms is not None and (
            self.lags_ms.shape != self.channel_index.shape
            or not np.all(np.isfinite(self.lags_ms))
            or np.any(self.lags_ms < 0)
        ):
            raise ValueError("lags_ms must be finite, non-negative and one per touch")
        object.__setattr__(self, "_row_of_touch", np.repeat(np.arange(rows), lengths))

    @classmethod
    def from_paths(
        cls,
        paths: Sequence[Sequence[str]],
        conversions: Iterable[float],
        values: Iterable[float],
        nulls: Iterable[float],
        lags_ms: Sequence[Sequence[float]] | None = None,
    ) -> Journeys:
        """Build from plain Python paths; channels are sorted by name for stable output."""
        channels = tuple(sorted({channel for path in paths for channel in path}))
        position = {channel: i for i, channel in enumerate(channels)}
        flat = [position[channel] for path in paths for channel in path]
        offsets = np.zeros(len(paths) + 1, dtype=np.int64)
        np.cumsum([len(path) for path in paths], out=offsets[1:])
        lags = None
        if lags_ms is not None:
            if len(lags_ms) != len(paths):
                raise ValueError("lags_ms must have one sequence per path")
            lags = np.array([lag for row in lags_ms for lag in row], dtype=np.float64)
        return cls(
            channels=channels,
            channel_index=np.array(flat, dtype=np.int64),
            offsets=offsets,
            conversions=np.array(list(conversions), dtype=np.float64),
            values=np.array(list(values), dtype=np.float64),
            nulls=np.array(list(nulls), dtype=np.float64),
            lags_ms=lags,
        )

    @classmethod
    def from_channelattribution_csv(cls, text: str) -> Journeys:
        """Parse the ChannelAttribution format (`path;total_conversions;...;total_null`)."""
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise ValueError("empty journey file")
        header = tuple(column.strip() for column in lines[0].split(";"))
        if header != CSV_COLUMNS:
            raise ValueError(f"expected columns {';'.join(CSV_COLUMNS)}, got {lines[0]!r}")
        paths: list[list[str]] = []
        numbers: list[tuple[float, float, float]] = []
        for number, line in enumerate(lines[1:], start=2):
            cells = line.split(";")
            if len(cells) != len(CSV_COLUMNS):
                raise ValueError(f"line {number}: expected {len(CSV_COLUMNS)} fields")
            path = [channel.strip() for channel in cells[0].split(PATH_SEPARATOR)]
            if not all(path):
                raise ValueError(f"line {number}: empty channel name in {cells[0]!r}")
            try:
                numbers.append((float(cells[1]), float(cells[2]), float(cells[3])))
            except ValueError as error:
                raise ValueError(f"line {number}: {error}") from None
            paths.append(path)
        columns = np.array(numbers, dtype=np.float64).reshape(-1, 3)
        return cls.from_paths(paths, columns[:, 0], columns[:, 1], columns[:, 2])

    @classmethod
    def from_user_journeys(cls, journeys: Iterable[UserJourney]) -> Journeys:
        """One row per user, touches sorted by time, lags measured back from the conversion."""
        paths: list[list[str]] = []
        lags: list[list[float]] = []
        conversions: list[float] = []
        values: list[float] = []
        for journey in journeys:
            touches = sorted(journey.touches, key=lambda touch: touch[1])
            if not touches:
                raise ValueError("every journey needs at least one touch")
            # Non-converting journeys never receive credit; measuring from the last touch keeps
            # their lags finite.
            end = journey.conversion_time_ms
            if end is None:
                end = touches[-1][1]
            elif touches[-1][1] > end:
                raise ValueError("a touch comes after the conversion it is credited for")
            paths.append([channel for channel, _ in touches])
            lags.append([float(end - touch_time) for _, touch_time in touches])
            converted = journey.conversion_time_ms is not None
            conversions.append(1.0 if converted else 0.0)
            values.append(journey.value if converted else 0.0)
        nulls = [1.0 - conversion for conversion in conversions]
        return cls.from_paths(paths, conversions, values, nulls, lags_ms=lags)

    @property
    def lengths(self) -> IntArray:
        """Number of touches per journey."""
        return np.diff(self.offsets)

    @property
    def row_of_touch(self) -> IntArray:
        """Journey row of each flat touch."""
        return self._row_of_touch

    @property
    def paths(self) -> list[tuple[str, ...]]:
        """Paths as tuples of channel names (for display and tests, not for hot loops)."""
        names = np.array(self.channels, dtype=object)[self.channel_index]
        return [tuple(names[a:b]) for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]

    @property
    def total_conversions(self) -> float:
        """Sum of conversions over all journeys."""
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        """Sum of conversion value over all journeys."""
        return float(self.values.sum())

    def __len__(self) -> int:
        return len(self.offsets) - 1
