"""The marts document themselves: grain, English and Chinese descriptions, a tested key.

Reads the manifest of the session's synthetic-city build next to the columns that build actually
created (``information_schema``), so a column added to a mart's SQL without a YAML entry, or a YAML
entry left behind for a column the SQL no longer outputs, fails here. The convention
(dbt_project/README.md): ``description`` in English and ``meta.description_zh`` in Chinese on every
mart model and column; a mart model's descriptions state its grain ("One row per …" / "每行一…").
"""

from __future__ import annotations

import copy
import json
import re

import pytest

_GRAIN_EN = re.compile(r"\bone row per\b", re.IGNORECASE)
_GRAIN_ZH = "每行一"
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{2}")


def _meta(spec: dict) -> dict:
    return {**((spec.get("config") or {}).get("meta") or {}), **(spec.get("meta") or {})}


def _layer_models(manifest: dict, layer: str) -> dict[tuple[str, str], dict]:
    """Models under ``models/<layer>/``, keyed by (schema, relation name)."""
    return {(n["schema"], n.get("alias") or n["name"]): n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["fqn"][1] == layer}


def _description_problems(node: dict) -> list[str]:
    """What is missing from a model's own descriptions (grain, English, Chinese, display name)."""
    meta, name = _meta(node), node["name"]
    problems = []
    if not _GRAIN_EN.search(node.get("description") or ""):
        problems.append(f"{name}: description does not state the grain ('One row per …')")
    if _GRAIN_ZH not in str(meta.get("description_zh") or ""):
        problems.append(f"{name}: meta.description_zh does not state the grain ('每行一…')")
    return problems


def _column_problems(marts: dict[tuple[str, str], dict], columns: list[tuple[str, str, str]]) -> list[str]:
    """Warehouse columns of the marts without English and Chinese descriptions, and YAML-only columns."""
    problems = []
    built: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in columns:
        built.setdefault((schema, table), set()).add(column)
        node = marts.get((schema, table))
        if node is None:
            problems.append(f"{schema}.{table}: a table in a mart schema that is no mart model")
            continue
        spec = node["columns"].get(column)
        if spec is None:
            problems.append(f"{schema}.{table}.{column}: not in the model's YAML")
            continue
        if not _LATIN.search(spec.get("description") or ""):
            problems.append(f"{schema}.{table}.{column}: no English description")
        if not _HAN.search(str(_meta(spec).get("description_zh") or "")):
            problems.append(f"{schema}.{table}.{column}: no meta.description_zh in Chinese")
    for key, node in marts.items():
        stale = set(node["columns"]) - built.get(key, set())
        problems += [f"{key[0]}.{key[1]}.{c}: documented but not in the built table" for c in sorted(stale)]
    return problems


@pytest.fixture(scope="module")
def manifest(synth) -> dict:
    return json.loads(synth.result.manifest_path.read_text())


@pytest.fixture(scope="module")
def marts(manifest) -> dict[tuple[str, str], dict]:
    found = _layer_models(manifest, "marts")
    assert {"persons", "legal_entities", "credit_records", "credit_profiles"} <= {n["name"] for n in found.values()}
    return found


@pytest.fixture(scope="module")
def mart_columns(synth, marts) -> list[tuple[str, str, str]]:
    schemas = sorted({schema for schema, _ in marts})
    marks = ", ".join("?" * len(schemas))
    return synth.query(
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where table_schema in ({marks}) order by table_schema, table_name, ordinal_position", schemas)


def test_every_mart_states_its_grain_in_english_and_chinese(marts):
    problems = [p for node in marts.values() for p in _description_problems(node)]
    problems += [f"{n['name']}: no meta.display_name_zh" for n in marts.values()
                 if not _HAN.search(str(_meta(n).get("display_name_zh") or ""))]
    assert not problems, "\n".join(problems)


def test_every_intermediate_model_states_its_grain(manifest):
    models = _layer_models(manifest, "intermediate")
    assert models
    problems = [p for node in models.values() for p in _description_problems(node)]
    assert not problems, "\n".join(problems)


def test_every_built_mart_column_has_english_and_chinese_descriptions(marts, mart_columns):
    assert len(mart_columns) > 100
    problems = _column_problems(marts, mart_columns)
    assert not problems, "\n".join(problems)


def test_the_column_check_catches_an_undocumented_or_stale_column(marts, mart_columns):
    """The check above can fail: a column added in SQL only, a lost translation, a stale YAML entry."""
    schema, table, column = next(c for c in mart_columns if c[1] == "persons")
    broken = copy.deepcopy(marts)
    spec = broken[(schema, table)]["columns"][column]
    spec.get("meta", {}).pop("description_zh", None)
    spec.get("config", {}).get("meta", {}).pop("description_zh", None)
    added = [*mart_columns, (schema, table, "added_in_sql_only")]
    broken[(schema, table)]["columns"]["dropped_from_sql"] = {"description": "x", "meta": {"description_zh": "某"}}
    new = set(_column_problems(broken, added)) - set(_column_problems(marts, mart_columns))
    assert new == {f"{schema}.{table}.{column}: no meta.description_zh in Chinese",
                   f"{schema}.{table}.added_in_sql_only: not in the model's YAML",
                   f"{schema}.{table}.dropped_from_sql: documented but not in the built table"}


def test_every_mart_has_a_key_tested_unique_and_not_null(manifest, marts):
    tested: dict[str, dict[str, set[str]]] = {}
    for node in manifest["nodes"].values():
        name = (node.get("test_metadata") or {}).get("name")
        if node["resource_type"] == "test" and name in ("unique", "not_null") and node.get("attached_node"):
            column = node.get("column_name") or (node["test_metadata"].get("kwargs") or {}).get("column_name")
            tested.setdefault(node["attached_node"], {}).setdefault(name, set()).add(column)
    missing = [n["name"] for n in marts.values()
               if not ((n.get("config") or {}).get("meta") or {}).get("keyless_because")
               and not (tested.get(n["unique_id"], {}).get("unique", set())
                       & tested.get(n["unique_id"], {}).get("not_null", set()))]
    assert not missing, f"marts without a key tested unique + not_null: {missing}"
