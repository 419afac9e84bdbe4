"""Detectors of Chinese personal and sensitive data, over column names and sampled values.

Each value detector says whether one value is of its class — check digits through python-stdnum
where a standard defines them (GB 11643 resident ID, GB 32100 USCC, Luhn for bank cards), patterns
otherwise. :func:`classify_column` samples a column's non-empty values and picks the class most of
them match; a column name that hints at a class lowers the share needed (real columns carry
defects: mistyped check digits, blanks, placeholder values).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from stdnum import luhn
from stdnum.cn import ric, uscc

SAMPLE = 200
VALUE_SHARE = 0.6     # share of sampled values that must match, without a hinting column name
HINTED_SHARE = 0.3    # … with one
MIXED_SHARE = 0.8     # resident IDs and USCCs together, for a credit-subject code column…
MIXED_MINORITY = 0.02  # … with at least this share of each (neither kind occurs in the other's column)

# Common surnames (百家姓 by frequency, and the frequent compound ones); independent of synth's pools.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛"
    "邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝"
    "路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂"
    "全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_COMPOUND_SURNAMES = {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯"}
_ORG_WORDS = re.compile(r"公司|集团|中心|医院|学校|大学|委员会|局|厅|部|所|站|店|厂|社|会|院|银行|协会")
_HAN = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")
_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_PLATE = re.compile(r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领]"
                    r"[A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$")
_SUBJECT_HINT = re.compile(r"subject_code|主体代码|证件号码", re.I)  # either an ID number or a USCC
_ADMIN = re.compile(r"省|市|自治区|区|县|旗|镇|乡|街道")
_STREET = re.compile(r"路|街|道|巷|弄|胡同|里|号|村|组|楼|单元|室|门|苑|园|小区|大厦")


def _compact(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def is_resident_id(value: str) -> bool:
    return ric.is_valid(value.strip())


def is_uscc(value: str) -> bool:
    """A valid USCC that is not also a valid resident ID (about one ID in 31 passes the USCC check)."""
    v = value.strip()
    return uscc.is_valid(v) and not ric.is_valid(v)


def is_mobile(value: str) -> bool:
    return bool(_MOBILE.match(_compact(value)))


def is_bank_card(value: str) -> bool:
    digits = _compact(value)
    return digits.isdigit() and 16 <= len(digits) <= 19 and luhn.is_valid(digits) and not is_resident_id(digits)


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value.strip()))


def is_person_name(value: str) -> bool:
    v = value.strip().replace(" ", "")
    if not _HAN.match(v) or len(v) > 4 or _ORG_WORDS.search(v):
        return False
    return v[0] in _SURNAMES or v[:2] in _COMPOUND_SURNAMES


def is_address(value: str) -> bool:
    v = value.strip()
    return len(v) >= 8 and bool(_ADMIN.search(v)) and bool(_STREET.search(v)) and bool(re.search(r"\d|[一二三四五六七八九十]", v))


def is_licence_plate(value: str) -> bool:
    return bool(_PLATE.match(_compact(value).upper()))


# class → (value detector, column-name hint)
DETECTORS: dict[str, tuple[Callable[[str], bool], re.Pattern[str]]] = {
    "resident_id": (is_resident_id, re.compile(r"id_?(number|no|card)|身份证|sfz", re.I)),
    "uscc": (is_uscc, re.compile(r"uscc|credit_code|信用代码", re.I)),
    "mobile": (is_mobile, re.compile(r"mobile|phone|手机|tel", re.I)),
    "bank_card": (is_bank_card, re.compile(r"bank|card|账号|卡号", re.I)),
    "email": (is_email, re.compile(r"e_?mail|邮箱", re.I)),
    "person_name": (is_person_name, re.compile(r"(^|_)name$|姓名", re.I)),
    "address": (is_address, re.compile(r"address|addr|住址|地址", re.I)),
    "licence_plate": (is_licence_plate, re.compile(r"plate|车牌", re.I)),
}


@dataclass(frozen=True)
class Detection:
    column: str
    classification: str | None
    share: float          # of sampled values matching the chosen class
    hinted: bool          # the column name hinted at it
    sampled: int


def _sample(values: Sequence | pd.Series, seed: int) -> list[str]:
    s = pd.Series(values, dtype="object").dropna().astype(str)
    s = s[s.str.strip() != ""]
    if len(s) > SAMPLE:
        s = s.sample(SAMPLE, random_state=seed)
    return s.tolist()


def classify_column(name: str, values: Sequence | pd.Series, seed: int = 0) -> Detection:
    """The most likely class of one column, or ``classification=None``."""
    sample = _sample(values, seed)
    if not sample:
        return Detection(name, None, 0.0, False, 0)
    shares = {cls: sum(map(fn, sample)) / len(sample) for cls, (fn, _) in DETECTORS.items()}
    mixed = shares["resident_id"] + shares["uscc"]
    if mixed >= MIXED_SHARE and (min(shares["resident_id"], shares["uscc"]) >= MIXED_MINORITY
                                 or _SUBJECT_HINT.search(name)):
        return Detection(name, "subject_code", mixed, False, len(sample))
    hinted = {cls for cls, (_, hint) in DETECTORS.items() if hint.search(name)}
    passing = [(share, cls in hinted, cls) for cls, share in shares.items()
               if share >= (HINTED_SHARE if cls in hinted else VALUE_SHARE)]
    if passing:
        share, was_hinted, cls = max(passing)
        return Detection(name, cls, share, was_hinted, len(sample))
    return Detection(name, None, max(shares.values()), False, len(sample))


def classify_frame(frame: pd.DataFrame, seed: int = 0) -> list[Detection]:
    return [classify_column(str(c), frame[c], seed) for c in frame.columns]
