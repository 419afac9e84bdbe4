"""Stage bookkeeping for a run: timing, rows and status per stage, shown live with rich."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table


@dataclass
class StageRecord:
    name: str
    status: str = "running"
    rows: int = 0
    seconds: float = 0.0
    detail: str = ""


@dataclass
class StageHandle:
    record: StageRecord
    progress: Progress
    task_id: int

    def advance(self, n: int = 1) -> None:
        self.record.rows += n
        self.progress.update(self.task_id, completed=self.record.rows)

    def set_rows(self, n: int) -> None:
        self.record.rows = n
        self.progress.update(self.task_id, completed=n)

    def set_total(self, total: int | None) -> None:
        self.progress.update(self.task_id, total=total)

    def note(self, detail: str) -> None:
        self.record.detail = detail
        self.progress.update(self.task_id, detail=detail)


@dataclass
class StageLog:
    console: Console
    records: list[StageRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description:<22}"), BarColumn(bar_width=24),
            MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[detail]}"),
            console=self.console, transient=False)

    @contextmanager
    def live(self) -> Iterator[StageLog]:
        with self.progress:
            yield self

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[StageHandle]:
        record = StageRecord(name)
        self.records.append(record)
        task_id = self.progress.add_task(name, total=total, detail="")
        handle = StageHandle(record, self.progress, task_id)
        started = time.perf_counter()
        try:
            yield handle
            record.status = record.status if record.status != "running" else "ok"
        except BaseException:
            record.status = "failed"
            raise
        finally:
            record.seconds = round(time.perf_counter() - started, 3)
            self.progress.update(task_id, total=max(record.rows, 1) if total is None else total,
                                 completed=max(record.rows, 1) if total is None else record.rows)
            self.progress.stop_task(task_id)

    def summary(self) -> Table:
        table = Table(title="citydata demo — stages")
        for col in ("stage", "status", "rows", "seconds", "detail"):
            table.add_column(col, justify="right" if col in ("rows", "seconds") else "left")
        for r in self.records:
            colour = {"ok": "green", "failed": "red", "blocked": "yellow"}.get(r.status, "white")
            table.add_row(r.name, f"[{colour}]{r.status}[/]", f"{r.rows:,}", f"{r.seconds:.2f}", r.detail)
        return table

    def to_list(self) -> list[dict]:
        return [r.__dict__.copy() for r in self.records]
