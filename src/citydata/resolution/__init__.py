"""Person entity resolution: evaluate the dbt models ``int_person_records_resolved`` /
``governance.unresolved_person_records`` against the synthetic city's ground truth."""

from citydata.resolution.evaluate import evaluate, evaluate_synthetic, evaluate_warehouse, report

__all__ = ["evaluate", "evaluate_synthetic", "evaluate_warehouse", "report"]
