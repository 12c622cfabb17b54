"""Allow `python -m attribo`, which the benchmarks and tests use to start servers."""

from attribo.cli import app

app()
