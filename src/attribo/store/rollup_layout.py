"""Which rollup cubes exist and which report dimensions each can break down by (no I/O).

Every cube is kept twice, for touches (`rollup_touch_<name>`) and for installs with their
activity (`rollup_inst_<name>`), grouped by app, UTC day and the cube's dimensions. Reports
read the first cube, in this order, that holds every dimension they group or filter by;
`full` holds them all. The names are the metrics catalogue's dimension names.
"""

from __future__ import annotations

MAX_DAY = 30  # day-N columns (revenue, opens, payers, retained) for days 0..MAX_DAY

CUBES: tuple[tuple[str, frozenset[str]], ...] = (
    ("network", frozenset({"network"})),
    ("ads", frozenset({"network", "campaign", "adset", "ad", "platform"})),
    ("geo", frozenset({"network", "campaign", "country", "platform"})),
    ("sites", frozenset({"network", "campaign", "site"})),
    (
        "full",
        frozenset({"network", "campaign", "adset", "ad", "site", "country", "platform"}),
    ),
)

# Report dimension -> its column in the touch cubes and in the install cubes.
TOUCH_COLUMNS: dict[str, str] = {
    "platform": "platform",
    "network": "network",
    "campaign": "campaign",
    "adset": "adset",
    "ad": "ad",
    "site": "site_id",
    "country": "country",
}
INSTALL_COLUMNS: dict[str, str] = {
    "platform": "platform",
    "network": "attributed_network",  # with `attribution`, which every install cube keeps
    "campaign": "attributed_campaign",
    "adset": "attributed_adset",
    "ad": "attributed_ad",
    "site": "attributed_site_id",
    "country": "country",
}


def cube_for(dimensions: set[str]) -> str:
    """The smallest cube holding every dimension in `dimensions` (app and dates are in all)."""
    needed = dimensions - {"app"}
    needed = {d for d in needed if not d.startswith(("install_date", "event_date"))}
    for name, dims in CUBES:
        if needed <= dims:
            return name
    raise KeyError(f"no rollup cube has {sorted(needed)}")


def cube_columns(name: str, columns: dict[str, str]) -> list[str]:
    """The cube's dimension columns, in a fixed order."""
    dims = dict(CUBES)[name]
    return [column for dim, column in columns.items() if dim in dims]
