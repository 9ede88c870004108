"""The numbers a suite table shows for one cell record, column by column."""

from __future__ import annotations

from ..evaluation import columns


def flatten(record: dict, suite_metrics: list[str]) -> dict[str, float]:
    """The numbers a table shows for one cell: {column: value}; per-variable R² become one column each.

    Each column is flattened by the evaluation section that gives it; ``train_seconds`` comes from the record."""
    row: dict[str, float] = {}
    given = columns()
    for name in suite_metrics:
        if name not in given:
            if record.get(name) is not None:
                row[name] = float(record[name])
            continue
        section = given[name]
        output = record["metrics"].get(section.name)
        if isinstance(output, dict):
            row.update(section().table(output, name))
    return row
