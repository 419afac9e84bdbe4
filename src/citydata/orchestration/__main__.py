"""``python -m citydata.orchestration env [--metadata-url URL]`` prints Airflow's settings and connections
as shell exports (``eval "$(…)"`` before starting Airflow); ``… profiles DIR`` writes a dbt profiles.yml."""

from __future__ import annotations

import argparse
from pathlib import Path

from citydata.orchestration.config import airflow_environment, dbt_profiles, shell_exports
from citydata.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m citydata.orchestration")
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("env", help="Airflow settings and connections as shell exports")
    env.add_argument("--metadata-url", default=None, help="Airflow metadata DB (default: SQLite in the var dir)")
    profiles = sub.add_parser("profiles", help="write profiles.yml for dbt into DIR")
    profiles.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "env":
        print(shell_exports(airflow_environment(settings, args.metadata_url)), end="")
    else:
        args.dir.mkdir(parents=True, exist_ok=True)
        (args.dir / "profiles.yml").write_text(dbt_profiles(settings), encoding="utf-8")


if __name__ == "__main__":
    main()
