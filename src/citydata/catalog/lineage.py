"""Walk the catalog's lineage graph upstream, downstream or both — of a dataset or of one column.

Dataset lineage follows ``lineage.edges``; column lineage follows their
``lineageDetails.columnsLineage`` (see :mod:`citydata.catalog.column_lineage`). A column is named
by its OpenMetadata FQN: the dataset's FQN plus the column (``warehouse.citydata.marts.persons.name``,
``kafka."court.enforcement.dishonest_debtors".after.id_number``).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

from citydata.catalog.entities import column_fqn, reference, split_fqn
from citydata.catalog.entities import fqn as join_fqn
from citydata.catalog.store import UnknownEntityError, all_entities, get_entity
from citydata.errors import CityDataError

Direction = Literal["upstream", "downstream", "both"]
Link = tuple[str, str, dict]  # (from, to, what to report for the hop)


def _walk(links: list[Link], start: str, upstream: bool, depth: int | None
          ) -> tuple[dict[str, int], list[dict]]:
    """BFS from ``start``; returns {name: distance} and the hops crossed."""
    near, far = (1, 0) if upstream else (0, 1)
    adjacency: dict[str, list[Link]] = {}
    for link in links:
        adjacency.setdefault(link[near], []).append(link)
    seen: dict[str, int] = {start: 0}
    crossed: list[dict] = []
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if depth is not None and seen[here] >= depth:
            continue
        for link in adjacency.get(here, []):
            crossed.append(link[2])
            there = link[far]
            if there not in seen:
                seen[there] = seen[here] + 1
                queue.append(there)
    del seen[start]
    return seen, crossed


def _check(direction: str, depth: int | None) -> None:
    if direction not in ("upstream", "downstream", "both"):
        raise CityDataError(f"direction {direction!r} is not one of upstream, downstream, both")
    if depth is not None and depth < 0:
        raise CityDataError(f"depth {depth} must be 0 or more (or omitted for no limit)")


def _both_ways(links: list[Link], start: str, direction: Direction, depth: int | None
               ) -> tuple[list[tuple[str, str, int]], list[dict]]:
    """[(name, direction, hops)] nearest first per direction, and the hops crossed (no repeats)."""
    found_all: list[tuple[str, str, int]] = []
    crossed: list[dict] = []
    for way in ("upstream", "downstream"):
        if direction not in (way, "both"):
            continue
        found, walked = _walk(links, start, way == "upstream", depth)
        crossed += [h for h in walked if h not in crossed]
        found_all += [(name, way, hops) for name, hops in sorted(found.items(), key=lambda kv: (kv[1], kv[0]))]
    return found_all, crossed


def _edges(catalog: dict[str, Any]) -> list[dict]:
    return list((catalog.get("lineage") or {}).get("edges") or [])


def _entity_node(entity: dict | None, full_name: str) -> dict[str, Any]:
    ref = reference(entity) if entity else {"fullyQualifiedName": full_name, "name": full_name}
    return {**ref, "layer": (entity or {}).get("extension", {}).get("layer")}


def lineage(catalog: dict[str, Any], fqn: str, direction: Direction = "both",
            depth: int | None = None) -> dict[str, Any]:
    """The lineage of one dataset (``{"entity", "nodes", "edges"}``) or, when ``fqn`` names a
    column, of that column (see :func:`column_lineage`).

    ``nodes`` are entity references plus ``layer``, ``direction`` and ``depth`` (hops from the
    entity), nearest first; ``edges`` are the catalog's ``EntitiesEdge`` dicts that were crossed.
    Raises :class:`~citydata.catalog.store.UnknownEntityError` for an unknown FQN.
    """
    _check(direction, depth)
    try:
        root = get_entity(catalog, fqn)
    except UnknownEntityError:
        if resolve_column(catalog, fqn) is None:
            raise
        return column_lineage(catalog, fqn, direction, depth)
    by_fqn = _by_fqn(catalog)
    links = [(e["fromEntity"]["fullyQualifiedName"], e["toEntity"]["fullyQualifiedName"], e)
             for e in _edges(catalog)]
    found, crossed = _both_ways(links, root["fullyQualifiedName"], direction, depth)
    nodes = [{**_entity_node(by_fqn.get(name), name), "direction": way, "depth": hops}
             for name, way, hops in found]
    return {"entity": _entity_node(root, root["fullyQualifiedName"]), "nodes": nodes, "edges": crossed}


def resolve_column(catalog: dict[str, Any], fqn: str) -> tuple[dict, str] | None:
    """(dataset, column path) for a column FQN, or None. The path is ``name`` for a table column,
    ``after.name`` (etc.) for a topic schema field."""
    return _resolve(_by_fqn(catalog), fqn)


def _by_fqn(catalog: dict[str, Any]) -> dict[str, dict]:
    return {e["fullyQualifiedName"]: e for e in all_entities(catalog)}


def _resolve(by_fqn: dict[str, dict], full_name: str) -> tuple[dict, str] | None:
    parts = split_fqn(full_name)
    for cut in range(len(parts) - 1, 0, -1):
        entity = by_fqn.get(join_fqn(*parts[:cut]))
        if entity is None:
            continue
        path = parts[cut:]
        if entity["entityType"] == "table":
            names = {c["name"] for c in entity.get("columns") or []}
            return (entity, path[0]) if len(path) == 1 and path[0] in names else None
        fields = (entity.get("messageSchema") or {}).get("schemaFields") or []
        for name in path:
            field = next((f for f in fields if f["name"] == name), None)
            if field is None:
                return None
            fields = field.get("children") or []
        return entity, ".".join(path)
    return None


def column_lineage(catalog: dict[str, Any], fqn: str, direction: Direction = "both",
                   depth: int | None = None) -> dict[str, Any]:
    """The lineage of one column: ``{"entity", "column", "nodes", "edges"}``.

    ``nodes`` are columns — ``fullyQualifiedName`` (the column's), ``column`` (its path),
    ``entity`` (a reference to its dataset, with ``layer``), ``direction`` and ``depth`` — nearest
    first; ``edges`` are ``{"fromColumn", "toColumn", "fromEntity", "toEntity"}`` hops crossed.
    """
    _check(direction, depth)
    by_fqn = _by_fqn(catalog)
    found_root = _resolve(by_fqn, fqn)
    if found_root is None:
        raise UnknownEntityError(f"no column {fqn!r} in the catalog: check the dataset's schema on the portal")
    root, path = found_root
    start = column_fqn(root["fullyQualifiedName"], *path.split("."))
    links: list[Link] = []
    for e in _edges(catalog):
        for cl in (e.get("lineageDetails") or {}).get("columnsLineage") or []:
            for source in cl["fromColumns"]:
                links.append((source, cl["toColumn"], {
                    "fromColumn": source, "toColumn": cl["toColumn"],
                    "fromEntity": e["fromEntity"]["fullyQualifiedName"],
                    "toEntity": e["toEntity"]["fullyQualifiedName"]}))
    found, crossed = _both_ways(links, start, direction, depth)
    nodes = []
    for name, way, hops in found:
        hit = _resolve(by_fqn, name)
        entity, column = hit if hit else (None, split_fqn(name)[-1])
        nodes.append({"fullyQualifiedName": name, "column": column,
                      "entity": _entity_node(entity, name), "direction": way, "depth": hops})
    return {"entity": _entity_node(root, root["fullyQualifiedName"]),
            "column": {"name": path, "fullyQualifiedName": start}, "nodes": nodes, "edges": crossed}
