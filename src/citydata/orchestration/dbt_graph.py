"""The dbt project as a graph of buildable nodes (seeds, snapshots, models), read from dbt's manifest.

The build DAG turns each node into one task running ``dbt build --select <node>``. Tests come along
with the node they test when it is their only parent (dbt's ``cautious`` indirect selection); tests
that span several nodes (relationships, cross-model checks) run together in one last task, once
every node they read is built.

Reading the manifest is cheap (one JSON file, no dbt import), so it happens at DAG parse time. Making
it (``dbt parse``) is not: when ``target/manifest.json`` is missing the graph is ``None`` and the DAG
builds the whole project in one task, which leaves the manifest for the next parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

BUILDABLE = ("seed", "snapshot", "model")


@dataclass(frozen=True)
class DbtNode:
    """One seed, snapshot or model and the buildable nodes it reads."""

    unique_id: str
    name: str
    resource_type: str
    group: str  # where it sits: seeds, snapshots, staging, intermediate, marts
    upstream: tuple[str, ...]  # unique ids


@dataclass(frozen=True)
class DbtGraph:
    nodes: dict[str, DbtNode]  # unique id → node, in manifest order
    cross_tests: tuple[str, ...]  # names of tests reading more than one node


def manifest_path(project_dir: Path) -> Path:
    return project_dir / "target" / "manifest.json"


def _group(node: dict) -> str:
    if node["resource_type"] != "model":
        return node["resource_type"] + "s"
    fqn = node.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else "models"


def _parents(node: dict) -> list[str]:
    return (node.get("depends_on") or {}).get("nodes") or []


def read_graph(project_dir: Path) -> DbtGraph | None:
    """The graph from ``target/manifest.json``; ``None`` when there is no readable manifest."""
    try:
        manifest = json.loads(manifest_path(project_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    raw = manifest.get("nodes") if isinstance(manifest, dict) else None
    if not isinstance(raw, dict):
        return None
    ids = {uid for uid, n in raw.items() if n.get("resource_type") in BUILDABLE
           and (n.get("config") or {}).get("enabled", True)}
    nodes = {uid: DbtNode(uid, n["name"], n["resource_type"], _group(n),
                          tuple(sorted(p for p in _parents(n) if p in ids)))
             for uid, n in raw.items() if uid in ids}
    cross = sorted(n["name"] for n in raw.values() if n.get("resource_type") == "test"
                   and len({p for p in _parents(n) if p in ids}) > 1)
    return DbtGraph(nodes, tuple(cross))
