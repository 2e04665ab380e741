"""Time budgets: stop starting new work when the Lambda is about to run out of time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Budget:
    """`seconds_left()` (e.g. Lambda's remaining time) minus a reserve to finish the batch.

    The first batch of an invocation is always allowed, so every invocation makes progress
    (a loop of invocations can never spin without doing work); a fresh Lambda invocation has
    its whole timeout, far more than one batch needs."""

    seconds_left: Callable[[], float] = field(default=lambda: float("inf"))
    reserve: float = 30.0
    max_batches: int | None = None  # a hard cap for tests and for bounded runs
    batches: int = 0
    guaranteed: int = 1

    @classmethod
    def for_seconds(cls, seconds: float, reserve: float = 0.0) -> Budget:
        deadline = time.monotonic() + seconds
        return cls(lambda: deadline - time.monotonic(), reserve)

    def take(self) -> bool:
        """True if one more batch may start (and counts it)."""
        if self.max_batches is not None and self.batches >= self.max_batches:
            return False
        if self.batches >= self.guaranteed and self.seconds_left() <= self.reserve:
            return False
        self.batches += 1
        return True
