"""Walk the catalog's lineage graph (``lineage.edges``) upstream, downstream or both."""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

from citydata.catalog.entities import reference
from citydata.catalog.store import all_entities, get_entity
from citydata.errors import CityDataError

Direction = Literal["upstream", "downstream", "both"]


def _walk(edges: list[dict], start: str, upstream: bool, depth: int | None
          ) -> tuple[dict[str, int], list[dict]]:
    """BFS from ``start``; returns {fqn: distance} and the edges crossed."""
    near, far = ("toEntity", "fromEntity") if upstream else ("fromEntity", "toEntity")
    adjacency: dict[str, list[dict]] = {}
    for e in edges:
        adjacency.setdefault(e[near]["fullyQualifiedName"], []).append(e)
    seen: dict[str, int] = {start: 0}
    crossed: list[dict] = []
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if depth is not None and seen[here] >= depth:
            continue
        for e in adjacency.get(here, []):
            crossed.append(e)
            there = e[far]["fullyQualifiedName"]
            if there not in seen:
                seen[there] = seen[here] + 1
                queue.append(there)
    del seen[start]
    return seen, crossed


def lineage(catalog: dict[str, Any], fqn: str, direction: Direction = "both",
            depth: int | None = None) -> dict[str, Any]:
    """The lineage of one entity: ``{"entity", "nodes", "edges"}``.

    ``nodes`` are entity references plus ``layer``, ``direction`` and ``depth`` (hops from the
    entity), nearest first; ``edges`` are the catalog's ``EntitiesEdge`` dicts that were crossed.
    Raises :class:`~citydata.catalog.store.UnknownEntityError` for an unknown FQN.
    """
    if direction not in ("upstream", "downstream", "both"):
        raise CityDataError(f"direction {direction!r} is not one of upstream, downstream, both")
    if depth is not None and depth < 0:
        raise CityDataError(f"depth {depth} must be 0 or more (or omitted for no limit)")
    root = get_entity(catalog, fqn)
    by_fqn = {e["fullyQualifiedName"]: e for e in all_entities(catalog)}
    edges = list((catalog.get("lineage") or {}).get("edges") or [])
    nodes: list[dict] = []
    crossed: list[dict] = []
    for way in ("upstream", "downstream"):
        if direction not in (way, "both"):
            continue
        found, walked = _walk(edges, root["fullyQualifiedName"], way == "upstream", depth)
        crossed += [e for e in walked if e not in crossed]
        for full_name, hops in sorted(found.items(), key=lambda kv: (kv[1], kv[0])):
            entity = by_fqn.get(full_name)
            ref = reference(entity) if entity else {"fullyQualifiedName": full_name, "name": full_name}
            layer = (entity or {}).get("extension", {}).get("layer")
            nodes.append({**ref, "layer": layer, "direction": way, "depth": hops})
    return {"entity": {**reference(root), "layer": root.get("extension", {}).get("layer")},
            "nodes": nodes, "edges": crossed}
