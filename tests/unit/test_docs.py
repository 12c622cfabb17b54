"""The README documents every setting (with its default) and every CLI command."""

from __future__ import annotations

from pathlib import Path

import typer.main

from attribo.cli import app
from attribo.config import settings_table

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_documented_with_its_default():
    table = [line for line in README.splitlines() if line.startswith("| ")]
    rows = {line.split("|")[1].strip(): line for line in table}
    for name, default, help_text in settings_table():
        assert name in rows, f"setting {name} is not in the README"
        shown = default.removeprefix("PosixPath(").removesuffix(")").strip("'")
        assert shown in rows[name], f"README shows a stale default for {name}"
        assert help_text in rows[name]


def test_every_command_is_mentioned():
    group = typer.main.get_group(app)
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        names = [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
        for full in names:
            assert f"attribo {full}" in README, f"`attribo {full}` is not in the README"
