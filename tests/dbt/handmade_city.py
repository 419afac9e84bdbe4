"""A small hand-made city: every department's tables with the defects the models must handle.

Each defect is named in a comment; tests assert the marts catch them. Identifiers are built with
valid area codes from stdnum's registry and correct (or deliberately wrong) check characters.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from identifier_oracle import gb11643_check_char
from stdnum.cn import uscc as stdnum_uscc

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
T1 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def id_number(area: str, born: str, sequence: int) -> str:
    first17 = f"{area}{born}{sequence:03d}"
    return first17 + gb11643_check_char(first17)


def legacy_id_number(area: str, born_yymmdd: str, sequence: int) -> str:
    """A 15-digit pre-1999 number: area, 2-digit year, month, day, sequence; no check char."""
    return f"{area}{born_yymmdd}{sequence:03d}"


def uscc(area: str, organisation: str) -> str:
    first17 = f"91{area}{organisation}"
    return first17 + stdnum_uscc.calc_check_digit(first17)


def wrong_check(value: str) -> str:
    """The same value with a check character that is not the right one."""
    last = value[-1]
    return value[:-1] + ("1" if last != "1" else "2")


# People ------------------------------------------------------------------------------------------
ZHANG = id_number("110105", "19800312", 13)          # male, registered, married, employed, legal rep
LI = id_number("110105", "19820704", 24)             # female, registered, married to Zhang
WANG = id_number("110101", "19450101", 15)           # deceased but still 'active' in hukou: conflict
ZHAO_LEGACY = legacy_id_number("110108", "650915", 21)  # 15-digit legacy number in hukou
ZHAO = id_number("110108", "19650915", 21)           # ... its 18-digit upgrade
CHEN = next(n for n in (id_number("440305", "19900220", s) for s in range(200)) if n.endswith("X"))
SUN = id_number("510104", "19951111", 41)            # only in hrss (not registered locally)
BABY = id_number("110105", "20240601", 52)           # newborn: only in health births
ZHOU = id_number("110102", "19700505", 63)           # divorced (marriage then divorce)
WU = id_number("110102", "19720808", 74)             # Zhou's former spouse; widowed? no: divorced
BAD_CHECK = wrong_check(id_number("110105", "19880101", 85))   # wrong check char
BAD_AREA = id_number("990105", "19880101", 96)                 # unknown area code
BAD_DATE = id_number("110105", "19880230", 17)                 # 30 February
FUTURE = id_number("110105", "20300101", 28)                   # born after the reference date
OLD_AREA = id_number("110103", "20150101", 39)                 # 崇文区 ceased 2010: invalid for 2015
DEBTOR = id_number("110106", "19770303", 19)                   # person in court and ndrc only

# Entities ----------------------------------------------------------------------------------------
ACME = uscc("110105", "MA01ABCD3")
BETA = uscc("330106", "MA02EFGH4")
GAMMA = uscc("440305", "MA03JKLM5")        # only a taxpayer (not registered with market regulation)
BAD_USCC = wrong_check(uscc("110105", "MA04NPQR6"))
DELTA = uscc("510104", "MA05TUWX7")        # legal rep not in hukou (SUN)


def _nullable_int(values: pd.Series) -> pd.Series:
    """Integers with gaps as Python ints / None (pandas would make them floats: '2025.0')."""
    return pd.Series([None if pd.isna(v) else int(v) for v in values], dtype=object)


def frames() -> dict[tuple[str, str], pd.DataFrame]:
    persons = pd.DataFrame([
        dict(person_no=1, id_number=ZHANG, name="张伟", gender="男", birth_date=dt.date(1980, 3, 12),
             ethnicity="汉族", household_id=100, address="北京市朝阳区建国路1号", division_code="110105",
             status="active", updated_at=T0),
        dict(person_no=2, id_number=" " + LI + " ", name="李娜 ", gender="女", birth_date=dt.date(1982, 7, 4),
             ethnicity="汉族", household_id=100, address="北京市朝阳区建国路1号", division_code="110105",
             status="active", updated_at=T0),
        dict(person_no=3, id_number=WANG, name="王芳", gender="女", birth_date=dt.date(1945, 1, 1),
             ethnicity="回族", household_id=101, address="杭州市西湖区文三路2号", division_code="330106",
             status="active", updated_at=T0),
        dict(person_no=4, id_number=ZHAO_LEGACY, name="赵强", gender="男", birth_date=dt.date(1965, 9, 15),
             ethnicity="汉族", household_id=102, address="南京市玄武区中山路3号", division_code="320102",
             status="active", updated_at=T0),
        # full-width digits in the ID number: normalised to the same person as CHEN
        dict(person_no=5, id_number=CHEN.lower().translate(str.maketrans("0123456789x", "０１２３４５６７８９ｘ")),
             name="陈静", gender="女", birth_date=dt.date(1990, 2, 20), ethnicity="汉族", household_id=103,
             address="深圳市南山区科技路4号", division_code="440305", status="active", updated_at=T0),
        dict(person_no=6, id_number=ZHOU, name="周杰", gender="男", birth_date=dt.date(1970, 5, 5),
             ethnicity="汉族", household_id=104, address="杭州市上城区解放路5号", division_code="330102",
             status="active", updated_at=T0),
        dict(person_no=7, id_number=BAD_CHECK, name="错号", gender="男", birth_date=dt.date(1988, 1, 1),
             ethnicity="汉族", household_id=105, address="北京市朝阳区", division_code="110105",
             status="active", updated_at=T0),
        dict(person_no=8, id_number=BAD_AREA, name="错区", gender="女", birth_date=dt.date(1988, 1, 1),
             ethnicity="汉族", household_id=105, address="北京市朝阳区", division_code="110105",
             status="active", updated_at=T0),
        # Wu moved out: an older record for the same person, superseded by a newer one
        dict(person_no=9, id_number=WU, name="吴敏", gender="女", birth_date=dt.date(1972, 8, 8),
             ethnicity="汉族", household_id=104, address="杭州市上城区解放路5号", division_code="330102",
             status="moved_out", updated_at=T0),
        dict(person_no=10, id_number=WU, name="吴敏", gender="女", birth_date=dt.date(1972, 8, 8),
             ethnicity="汉族", household_id=106, address="杭州市上城区延安路6号", division_code="330102",
             status="active", updated_at=T1),
    ])
    households = pd.DataFrame([
        dict(household_id=100, head_id_number=ZHANG, address="北京市朝阳区建国路1号", division_code="110105",
             registered_on=dt.date(2005, 1, 1), updated_at=T0),
        dict(household_id=101, head_id_number=WANG, address="杭州市西湖区文三路2号", division_code="330106",
             registered_on=dt.date(1980, 1, 1), updated_at=T0),
        dict(household_id=102, head_id_number=ZHAO_LEGACY, address="南京市玄武区中山路3号",
             division_code="320102", registered_on=dt.date(1990, 1, 1), updated_at=T0),
        dict(household_id=105, head_id_number=BAD_DATE, address="北京市朝阳区", division_code="110105",
             registered_on=dt.date(2010, 1, 1), updated_at=T0),
    ])
    marriages = pd.DataFrame([
        dict(marriage_id=1, husband_id_number=ZHANG, husband_name="张伟", wife_id_number=LI.lower(),
             wife_name="李娜", registration_type="marriage", registered_on=dt.date(2008, 8, 8), updated_at=T0),
        dict(marriage_id=2, husband_id_number=ZHOU, husband_name="周杰", wife_id_number=WU, wife_name="吴敏",
             registration_type="marriage", registered_on=dt.date(1995, 5, 1), updated_at=T0),
        dict(marriage_id=3, husband_id_number=ZHOU, husband_name="周杰", wife_id_number=WU, wife_name="吴敏",
             registration_type="divorce", registered_on=dt.date(2015, 6, 1), updated_at=T0),
        dict(marriage_id=4, husband_id_number=FUTURE, husband_name="未来", wife_id_number=OLD_AREA,
             wife_name="旧区", registration_type="marriage", registered_on=dt.date(2020, 1, 1), updated_at=T0),
    ])
    deaths = pd.DataFrame([
        dict(death_id=1, id_number=WANG, name="王芳", died_on=dt.date(2026, 2, 1), place="杭州市第一医院",
             updated_at=T1),
    ])
    enrolments = pd.DataFrame([
        dict(enrolment_id=1, id_number=ZHANG, name="张伟", mobile="+86 138-0013-8000", employer_uscc=ACME,
             employer_name="北京艾克美科技有限公司", insurance_type="pension", started_on=dt.date(2010, 1, 1),
             status="active", updated_at=T0),
        dict(enrolment_id=2, id_number=CHEN.upper(), name="陈静", mobile="13900139000", employer_uscc=BETA,
             employer_name="杭州贝塔贸易有限公司", insurance_type="medical", started_on=dt.date(2015, 3, 1),
             status="ended", updated_at=T0),
        dict(enrolment_id=3, id_number=CHEN, name="陈静", mobile="139 0013 9000",
             employer_uscc=" " + GAMMA.lower()[:9] + "-" + GAMMA.lower()[9:], employer_name="深圳伽马有限公司",
             insurance_type="medical", started_on=dt.date(2020, 3, 1), status="active", updated_at=T1),
        dict(enrolment_id=4, id_number=SUN, name="孙磊", mobile="12345", employer_uscc=BAD_USCC,
             employer_name="不存在公司", insurance_type="pension", started_on=dt.date(2021, 1, 1),
             status="active", updated_at=T0),
    ])
    births = pd.DataFrame([
        dict(birth_id=1, child_id_number=BABY, child_name="张小宝", gender="男", born_on=dt.date(2024, 6, 1),
             mother_id_number=LI, father_id_number=ZHANG, hospital="北京妇产医院", updated_at=T0),
        dict(birth_id=2, child_id_number=None, child_name=None, gender="女", born_on=dt.date(2026, 10, 1),
             mother_id_number=CHEN, father_id_number=None, hospital="深圳市妇幼保健院", updated_at=T1),
    ])
    enterprises = pd.DataFrame([
        dict(enterprise_id=1, uscc=ACME, name="北京艾克美科技有限公司", registration_no="110105012345672",
             legal_rep_id_number=ZHANG,
             legal_rep_name="张伟", registered_capital="500.00", industry="软件", entity_type="enterprise",
             status="active", established_on=dt.date(2009, 5, 1), address="北京市朝阳区建国路88号",
             division_code="110105", updated_at=T0),
        dict(enterprise_id=2, uscc=BETA.lower(), name="杭州贝塔贸易有限公司", registration_no="330106000000126",
             legal_rep_id_number=ZHOU,
             legal_rep_name="周杰", registered_capital="100.00", industry="批发", entity_type="enterprise",
             status="revoked", established_on=dt.date(2012, 1, 1), address="杭州市西湖区",
             division_code="330106", updated_at=T0),
        dict(enterprise_id=3, uscc=DELTA, name="成都德尔塔餐饮有限公司", registration_no=None, legal_rep_id_number=SUN,
             legal_rep_name="孙磊", registered_capital="50.00", industry="餐饮", entity_type="enterprise",
             status="active", established_on=dt.date(2021, 1, 1), address="成都市锦江区",
             division_code="510104", updated_at=T0),
        dict(enterprise_id=4, uscc=BAD_USCC, name="错码公司", registration_no=None, legal_rep_id_number=BAD_CHECK,
             legal_rep_name="错号", registered_capital="1.00", industry="其他", entity_type="enterprise",
             status="active", established_on=dt.date(2020, 1, 1), address="北京市", division_code="110105",
             updated_at=T0),
    ])
    taxpayers = pd.DataFrame([
        dict(taxpayer_id=1, uscc=ACME, name="北京艾克美科技有限公司", registration_no="T001", credit_rating="A",
             rated_year=2025, updated_at=T0),
        dict(taxpayer_id=2, uscc=ACME, name="北京艾克美科技有限公司", registration_no="T001", credit_rating="B",
             rated_year=2024, updated_at=T0),
        dict(taxpayer_id=3, uscc=GAMMA, name="深圳伽马有限公司", registration_no="T003", credit_rating="M",
             rated_year=2025, updated_at=T0),
        dict(taxpayer_id=4, uscc=BETA, name="杭州贝塔贸易", registration_no="T004", credit_rating=None,
             rated_year=None, updated_at=T0),
    ])
    debtors = pd.DataFrame([
        dict(case_id=1, case_no="(2025)京0105执123号", subject_type="person", subject_code=DEBTOR,
             subject_name="欠款人", obligation="支付货款10万元", filed_on=dt.date(2025, 3, 1), status="listed",
             updated_at=T0),
        dict(case_id=2, case_no="(2024)浙0106执45号", subject_type="entity", subject_code=BETA,
             subject_name="杭州贝塔贸易有限公司", obligation="支付工资", filed_on=dt.date(2024, 6, 1),
             status="removed", updated_at=T0),
        dict(case_id=3, case_no="(2025)京0105执999号", subject_type="person", subject_code=BAD_CHECK,
             subject_name="错号", obligation="赔偿", filed_on=dt.date(2025, 1, 1), status="listed", updated_at=T0),
    ])
    sanctions = pd.DataFrame([
        dict(record_id=1, record_type="penalty", subject_type="entity", subject_code=ACME,
             subject_name="北京艾克美科技有限公司", decision_no="京市监罚〔2025〕1号", content="虚假宣传",
             authority="市场监管局", decided_on=dt.date(2025, 1, 10), publicity_until=dt.date(2026, 1, 10),
             updated_at=T0),
        dict(record_id=2, record_type="penalty", subject_type="entity", subject_code=ACME,
             subject_name="北京艾克美科技有限公司", decision_no="京市监罚〔2026〕7号", content="未按规定公示",
             authority="市场监管局", decided_on=dt.date(2026, 6, 1), publicity_until=dt.date(2027, 6, 1),
             updated_at=T0),
        dict(record_id=3, record_type="licence", subject_type="entity", subject_code=DELTA,
             subject_name="成都德尔塔餐饮有限公司", decision_no="食经许〔2021〕3号", content="食品经营许可",
             authority="市场监管局", decided_on=dt.date(2021, 2, 1), publicity_until=None, updated_at=T0),
        dict(record_id=4, record_type="penalty", subject_type="person", subject_code=DEBTOR,
             subject_name="欠款人", decision_no="公罚〔2025〕9号", content="违规经营", authority="公安局",
             decided_on=dt.date(2025, 9, 1), publicity_until=dt.date(2026, 3, 1), updated_at=T0),
    ])
    taxpayers["rated_year"] = _nullable_int(taxpayers["rated_year"])
    return {
        ("public_security", "persons"): persons,
        ("public_security", "households"): households,
        ("civil_affairs", "marriages"): marriages,
        ("civil_affairs", "deaths"): deaths,
        ("hrss", "enrolments"): enrolments,
        ("health", "births"): births,
        ("market_regulation", "enterprises"): enterprises,
        ("tax", "taxpayers"): taxpayers,
        ("court", "dishonest_debtors"): debtors,
        ("ndrc", "sanctions"): sanctions,
    }
