"""The simulator's README documents every parameter with its current default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import attribo.sim
from attribo.sim.params import SimParams

README = (Path(attribo.sim.__file__).parent / "README.md").read_text()
GROUPS = ("ctit", "retention", "monetisation", "fraud")


def _documented() -> dict[str, str]:
    rows = [line for line in README.splitlines() if line.startswith("| `")]
    return {line.split("`")[1]: line for line in rows}


def test_every_parameter_is_documented_with_its_default():
    rows = _documented()
    params = SimParams()
    for field in dataclasses.fields(params):
        if field.name in ("networks", "countries"):
            continue
        value = getattr(params, field.name)
        if field.name in GROUPS:
            for inner in dataclasses.fields(value):
                name = f"{field.name}.{inner.name}"
                assert name in rows, f"{name} is not in sim/README.md"
                assert f"`{getattr(value, inner.name)!r}`" in rows[name], f"stale default: {name}"
        else:
            assert field.name in rows, f"{field.name} is not in sim/README.md"
            if field.name != "scenarios":
                assert f"`{value!r}`" in rows[field.name], f"stale default: {field.name}"
