"""Detectors on hand-made values and on the synthetic city, with precision and recall."""

from __future__ import annotations

import random

import pytest
from stdnum import luhn

from citydata.circulation import detectors as D
from citydata.circulation.detection_eval import evaluate
from citydata.synth import generate


@pytest.mark.parametrize(("detector", "good", "bad"), [
    (D.is_resident_id, ["11010519491231002X", "120106198511305250"], ["11010519491231002Y", "120106198513305250"]),
    (D.is_uscc, ["91120111233487200B", "91350100M000100Y43"], ["91120111233487200C", "120106198511305250"]),
    (D.is_mobile, ["13812345678", "+86 139-1234-5678"], ["12812345678", "1381234567", "010-12345678"]),
    (D.is_bank_card, ["6011111111111117", "4111 1111 1111 1111"], ["4111111111111112", "41111111111"]),
    (D.is_email, ["li.wei@tj.gov.cn", "a+b@example.com"], ["li.wei@", "@tj.gov.cn", "li wei@x.cn"]),
    (D.is_person_name, ["王强", "欧阳娜娜", "焦桂芳"], ["天津祥德物流有限公司", "汉族", "男", "天津市人民医院", "张"]),
    (D.is_address, ["天津市和平区穆路115号周斌花园38号楼1门1904", "河北省石家庄市长安区建设北大街3号"],
     ["天津市人民医院", "家中", "天津市"]),
    (D.is_licence_plate, ["津A12345", "京AD12345", "粤B1234学"], ["津I12345", "A12345", "津A1234"]),
])
def test_value_detectors(detector, good: list[str], bad: list[str]) -> None:
    assert [detector(v) for v in good] == [True] * len(good)
    assert [detector(v) for v in bad] == [False] * len(bad)


def test_columns_not_in_the_city_are_detected_by_their_values() -> None:
    r = random.Random(3)
    cards = [luhn.calc_check_digit(p) and p + luhn.calc_check_digit(p)
             for p in (f"622202{r.randrange(10**12):012d}" for _ in range(300))]
    mails = [f"user{i}@mail{i % 7}.com" for i in range(300)]
    plates = [f"津{'ABCDEFGH'[i % 8]}{i:05d}" for i in range(300)]
    assert D.classify_column("col_a", cards).classification == "bank_card"
    assert D.classify_column("col_b", mails).classification == "email"
    assert D.classify_column("col_c", plates).classification == "licence_plate"
    assert D.classify_column("col_d", ["pension", "medical"] * 50).classification is None


def test_name_hint_lowers_the_share_needed() -> None:
    values = ["王强"] * 40 + ["王"] * 60  # 40 % look like names: mostly defects
    assert D.classify_column("note", values).classification is None
    assert D.classify_column("name", values).classification == "person_name"


def test_detection_on_the_synthetic_city_meets_the_bar() -> None:
    result = evaluate(generate(600, 20261122))
    assert result.actual == 26
    assert result.recall >= 0.98
    assert result.precision >= 0.95
    misses = [(c.table, c.detection.column, c.truth) for c in result.columns if c.truth and not c.correct]
    assert misses == []
    extra = [(c.table, c.detection.column) for c in result.columns if c.detection.classification and not c.truth]
    # the court's subject names are people's names when the subject is a person: real personal data
    # the connector does not declare
    assert extra in ([], [("court.enforcement.dishonest_debtors", "subject_name")])
