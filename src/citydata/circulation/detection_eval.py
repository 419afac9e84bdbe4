"""Precision and recall of detection on the synthetic city, against its connectors' classification
hints (the ground truth: what each department declares about its columns)."""

from __future__ import annotations

from dataclasses import dataclass

from citydata.circulation.detectors import Detection, classify_frame
from citydata.synth import SynthCity


@dataclass(frozen=True)
class ColumnResult:
    table: str
    detection: Detection
    truth: str | None

    @property
    def correct(self) -> bool:
        return self.detection.classification == self.truth


@dataclass(frozen=True)
class Evaluation:
    columns: list[ColumnResult]

    @property
    def true_positives(self) -> int:
        return sum(1 for c in self.columns if c.truth and c.correct)

    @property
    def predicted(self) -> int:
        return sum(1 for c in self.columns if c.detection.classification)

    @property
    def actual(self) -> int:
        return sum(1 for c in self.columns if c.truth)

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.actual if self.actual else 1.0


def evaluate(city: SynthCity, seed: int = 0) -> Evaluation:
    """Detect every column of every table the city holds; a detection counts only with the right class."""
    results = []
    for key, frame in city.final_tables().items():
        table = city.schemas[key]
        hints = {name: spec.classification for name, spec in table.columns.items()}
        results += [ColumnResult(f"{key[0]}.{table.schema_}.{table.name}", d, hints.get(d.column))
                    for d in classify_frame(frame, seed)]
    return Evaluation(results)
