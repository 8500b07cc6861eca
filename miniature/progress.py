"""Progress lines for long loops: how far a loop has got, how fast, and how long it has left."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Progress:
    """Logs ``<label> done/total (rate/s, elapsed, ~left)`` each time the count passes a multiple
    of ``every`` (a tenth of ``total`` by default) and when it reaches ``total``.

    ``done`` is where a resumed loop starts: rate and time left count only the items of this run.
    """

    def __init__(self, label: str, total: int, done: int = 0, every: int | None = None,
                 logger: logging.Logger = log):
        self.label, self.total, self.done = label, total, done
        self.every = every or max(1, total // 10)
        self.logger = logger
        self._first = done
        self._began = time.perf_counter()

    def advance(self, items: int = 1, detail: str | Callable[[], str] = "") -> bool:
        """Count ``items`` more done; when a line is due, log it with ``detail`` (a string, or a
        function that makes one, so that a costly detail is made only for the lines logged).
        Returns whether a line was due, for a loop that does more at each progress line."""
        before, self.done = self.done, self.done + items
        due = self.done // self.every > before // self.every or self.done == self.total
        if due:
            self.log(detail() if callable(detail) else detail)
        return due

    def log(self, detail: str = "") -> None:
        """Log the progress line now."""
        elapsed = time.perf_counter() - self._began
        rate = (self.done - self._first) / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        self.logger.info("%s %d/%d%s (%.1f/s, %.0fs elapsed, ~%.0fs left)", self.label, self.done, self.total,
                         f"  {detail}" if detail else "", rate, elapsed, left)
