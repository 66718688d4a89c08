"""A training run's per-epoch log: ``metrics.jsonl``, one JSON object per epoch."""

from __future__ import annotations

import json
from pathlib import Path

METRICS_NAME = "metrics.jsonl"


def read_metrics(path: Path) -> list[dict]:
    """The epochs logged in ``path`` in order; ``[]`` when the file is absent or empty."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
