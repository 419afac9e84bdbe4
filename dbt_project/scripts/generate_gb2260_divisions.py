"""Write seeds/gb2260_divisions.csv from the GB/T 2260 registry python-stdnum ships (cn/loc.dat).

One row per division code and naming period, so the SQL validator accepts exactly the area codes
``stdnum.cn.ric.is_valid`` accepts: a code is valid for a birth year when some row for it has
``valid_from_year`` null or <= year and ``valid_to_year`` null or >= year. Codes stdnum only knows at
province level are left out (stdnum rejects them too). Run after upgrading python-stdnum:

    .venv/bin/python dbt_project/scripts/generate_gb2260_divisions.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from stdnum import numdb

OUT = Path(__file__).resolve().parents[1] / "seeds" / "gb2260_divisions.csv"


def _codes(db: numdb.NumDB) -> list[str]:
    """Every six-digit code the registry names: two-digit province prefixes × four-digit children."""
    codes = set()
    for _, plow, phigh, _, children in db.prefixes:
        for province in range(int(plow), int(phigh) + 1):
            for _, clow, chigh, _, _ in children:
                for child in range(int(clow), int(chigh) + 1):
                    codes.add(f"{province:02d}{child:0{len(clow)}d}")
    return sorted(codes)


def rows() -> list[dict[str, object]]:
    db = numdb.get("cn/loc")
    out = []
    for code in _codes(db):
        info = {k: v for _, props in db.info(code) for k, v in props.items()}
        if "county" not in info:  # province-only match: stdnum.cn.ric rejects these
            continue
        for entry in info["county"].split(","):  # the same split stdnum.cn.ric.get_birth_place does
            start = end = ""
            name = entry
            if entry.startswith("["):
                period, name = entry[1:].split("]")
                start, end = period.split("-")
            out.append({"division_code": code, "name": name, "province_name": info.get("province", ""),
                        "valid_from_year": start, "valid_to_year": end})
    return out


def main() -> None:
    data = rows()
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(data[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
    print(f"wrote {len(data)} rows to {OUT}")


if __name__ == "__main__":
    main()
