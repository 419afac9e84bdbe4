"""A seeded, deterministic synthetic city for the department sources in ``connectors/*.yaml``.

``generate(persons, seed, rates)`` builds true persons and entities, the rows each department
holds about them (with injected defects), a live burst of changes, and the ground truth;
``load_initial`` / ``apply_live`` put them into PostgreSQL; ``write_city`` writes them to files.
"""

from citydata.synth.core import SynthCity, final_state, generate, write_city
from citydata.synth.defects import DefectRates
from citydata.synth.live import Change, apply_live
from citydata.synth.loader import load_initial

__all__ = ["Change", "DefectRates", "SynthCity", "apply_live", "final_state", "generate",
           "load_initial", "write_city"]
