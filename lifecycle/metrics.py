"""Metrics as CloudWatch embedded-metric-format log lines: no API call, no extra permission."""

from __future__ import annotations

import json
import time

NAMESPACE = "trustbase/lifecycle"


def emit(metrics: dict[str, float], dimensions: dict[str, str], unit: str = "Count") -> str:
    line = json.dumps(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [sorted(dimensions)],
                        "Metrics": [
                            {"Name": name, "Unit": "Seconds" if name.endswith("Seconds") else unit} for name in metrics
                        ],
                    }
                ],
            },
            **dimensions,
            **metrics,
        },
        sort_keys=True,
    )
    print(line, flush=True)
    return line


def log(event: str, **fields: object) -> None:
    """A structured log line (never personal data: IDs and counts only)."""
    print(json.dumps({"event": event, **fields}, sort_keys=True, default=str), flush=True)
