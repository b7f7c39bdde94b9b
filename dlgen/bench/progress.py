"""What `dlgen bench` shows while it works: a rich progress bar per target on a terminal, one
line per phase otherwise (logs, CI)."""
from __future__ import annotations

import sys


class BenchProgress:
    """Context manager; ``update(label, phase, fraction)`` is the harness's on_progress."""

    def __init__(self):
        from rich.console import Console

        self._err = Console(stderr=True)
        self._progress = None
        self._tasks: dict[str, int] = {}
        self._phase: dict[str, str] = {}

    def console(self, *, stderr: bool):
        from rich.console import Console

        if stderr:
            return self._err
        return Console(width=None if sys.stdout.isatty() else 200)

    def __enter__(self) -> "BenchProgress":
        if self._err.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description:<28}"), BarColumn(),
                                      TextColumn("{task.fields[phase]:<8}"), TimeElapsedColumn(),
                                      console=self._err, transient=False)
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, label: str, phase: str, fraction: float) -> None:
        if self._progress is None:
            if self._phase.get(label) != phase:
                self._phase[label] = phase
                self._err.print(f"bench {label}: {phase}", highlight=False)
            return
        if label not in self._tasks:
            self._tasks[label] = self._progress.add_task(label, total=1.0, phase=phase)
        self._progress.update(self._tasks[label], completed=fraction, phase=phase)
