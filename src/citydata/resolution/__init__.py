"""Person entity resolution: evaluate the dbt models ``int_person_records_resolved`` /
``governance.unresolved_person_records`` against the synthetic city's ground truth, and a Splink
baseline on the same records (``splink_baseline``)."""

from citydata.resolution.evaluate import evaluate, evaluate_synthetic, evaluate_warehouse, report
from citydata.resolution.splink_baseline import evaluate_splink, resolve_at, splink_candidates

__all__ = ["evaluate", "evaluate_splink", "evaluate_synthetic", "evaluate_warehouse", "report", "resolve_at",
           "splink_candidates"]
