"""Pools of Chinese names, streets, company names and vocabulary, drawn once from Faker ``zh_CN``.

Faker is slow per call, so :class:`Pools` draws fixed-size pools from a seeded Faker instance and
the generators sample from them with a numpy ``Generator``. Same seed, same pools.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker
from faker.providers.person.zh_CN import Provider as ZhPerson

ETHNICITIES = ("汉族", "回族", "满族", "蒙古族", "朝鲜族", "土家族", "壮族", "苗族", "维吾尔族", "藏族")
ETHNICITY_WEIGHTS = (0.93, 0.025, 0.02, 0.008, 0.006, 0.003, 0.003, 0.002, 0.002, 0.001)

STREET_WORDS = (
    "和平", "解放", "南京", "成都", "贵州", "卫津", "复康", "黄河", "长江", "建设", "友谊", "胜利",
    "鞍山", "营口", "大沽", "紫金山", "红旗", "中山", "西康", "昆明", "重庆", "睦南", "马场", "湖北",
    "迎水", "珠江", "泰达", "金江", "津塘", "光华", "十一经", "六纬", "育梁", "天拖", "咸阳", "白堤",
)
STREET_SUFFIXES = ("路", "道", "大街", "街", "里")
COMMUNITY_SUFFIXES = ("里", "园", "苑", "花园", "公寓", "新村", "家园")

INDUSTRIES = (
    "农、林、牧、渔业", "制造业", "电力、热力、燃气及水生产和供应业", "建筑业", "批发和零售业",
    "交通运输、仓储和邮政业", "住宿和餐饮业", "信息传输、软件和信息技术服务业", "金融业", "房地产业",
    "租赁和商务服务业", "科学研究和技术服务业", "水利、环境和公共设施管理业", "居民服务、修理和其他服务业",
    "教育", "卫生和社会工作", "文化、体育和娱乐业",
)
INDUSTRY_WEIGHTS = (2, 16, 2, 8, 22, 6, 7, 9, 2, 4, 9, 5, 1, 3, 2, 1, 1)
INDUSTRY_WORDS = (
    "农业", "机械制造", "能源", "建设工程", "商贸", "物流", "餐饮管理", "网络科技", "投资", "置业",
    "商务咨询", "科技", "环保", "家政服务", "教育咨询", "医疗", "文化传媒",
)
COMPANY_SUFFIXES = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司")
BRAND_CHARS = "华泰通安鑫博腾飞远合联恒信达盛源润德丰宏昌瑞祥金海天宇嘉和利兴隆佳汇创新中星立"

HOSPITALS = (
    "天津市第一中心医院", "天津医科大学总医院", "天津市中心妇产科医院", "天津市妇女儿童保健中心",
    "天津市人民医院", "天津市第三中心医院", "天津市南开医院", "天津市滨海新区妇女儿童保健和计划生育服务中心",
)
AUTHORITIES = (
    "天津市市场监督管理局", "天津市生态环境局", "天津市交通运输委员会", "天津市卫生健康委员会",
    "天津市城市管理委员会", "天津市应急管理局", "天津市住房和城乡建设委员会",
)
LICENCES = ("食品经营许可", "建筑工程施工许可", "道路运输经营许可", "排污许可", "医疗机构执业许可",
            "危险化学品经营许可", "公共场所卫生许可")
PENALTIES = ("违反《中华人民共和国食品安全法》，罚款", "未按规定办理排污许可，罚款",
             "违反《中华人民共和国安全生产法》，罚款", "超范围经营，没收违法所得并罚款",
             "违反《中华人民共和国道路运输条例》，罚款", "违反《中华人民共和国广告法》，罚款")
PERSON_LICENCES = ("导游证核发", "从业资格证核发", "执业医师注册")
PERSON_PENALTIES = ("无证经营，罚款", "违规占道经营，罚款", "非法营运，罚款")
HONOURS = ("守合同重信用企业", "纳税信用A级纳税人", "诚信示范企业", "劳动保障守法诚信示范单位",
           "质量诚信先进企业")
PERSON_HONOURS = ("诚信个人", "见义勇为先进个人", "优秀志愿者", "道德模范")
HONOUR_AUTHORITIES = ("天津市发展和改革委员会", "天津市市场监督管理局", "国家税务总局天津市税务局",
                      "天津市人力资源和社会保障局", "天津市精神文明建设委员会")
OBLIGATIONS = ("偿还借款本金人民币{n}元及利息", "支付货款人民币{n}元", "支付工程款人民币{n}元",
               "赔偿经济损失人民币{n}元", "支付劳动报酬人民币{n}元")
DEATH_PLACES = ("家中", "天津市第一中心医院", "天津医科大学总医院", "天津市人民医院", "天津市第三中心医院")

# A wrong but similar character (形近 / 同音) for name typos.
SIMILAR = {
    "王": "汪", "张": "章", "李": "季", "刘": "浏", "陈": "陳", "杨": "扬", "黄": "簧", "赵": "越",
    "吴": "昊", "周": "舟", "徐": "涂", "孙": "逊", "马": "冯", "朱": "珠", "胡": "湖", "郭": "廓",
    "何": "河", "林": "材", "高": "蒿", "罗": "萝", "郑": "鄭", "梁": "粱", "谢": "榭", "宋": "末",
    "唐": "塘", "许": "浒", "韩": "韓", "冯": "冲", "邓": "登", "曹": "漕", "彭": "澎", "曾": "增",
    "明": "名", "伟": "玮", "芳": "方", "娜": "哪", "静": "净", "丽": "俪", "强": "疆", "磊": "垒",
    "军": "车", "洋": "详", "勇": "甬", "艳": "燕", "杰": "洁", "娟": "鹃", "涛": "焘", "秀": "琇",
    "霞": "遐", "平": "苹", "刚": "钢", "桂": "柱", "英": "瑛", "华": "桦", "建": "健", "文": "汶",
    "红": "虹", "玉": "钰", "兰": "蘭", "鑫": "鍂", "波": "坡", "斌": "赟", "辉": "晖", "宇": "字",
    "欣": "忻", "婷": "停", "雪": "雷", "琳": "淋", "晶": "晾", "浩": "皓", "凯": "恺", "健": "建",
}


@dataclass
class Pools:
    surnames: np.ndarray
    surname_p: np.ndarray
    male_given: np.ndarray
    female_given: np.ndarray
    streets: np.ndarray
    communities: np.ndarray
    brands: np.ndarray


def _weighted_surnames(fake: Faker) -> tuple[np.ndarray, np.ndarray]:
    raw = getattr(ZhPerson, "last_names", None)
    if isinstance(raw, dict) and raw:  # Faker's zh_CN surnames with their frequency weights
        names = np.array(list(raw.keys()))
        w = np.array([float(v) for v in raw.values()])
        return names, w / w.sum()
    drawn = [fake.last_name() for _ in range(4000)]
    uniq, counts = np.unique(np.array(drawn), return_counts=True)
    return uniq, counts / counts.sum()


def _given(fake: Faker, male: bool, n: int, rng: np.random.Generator) -> np.ndarray:
    listed = getattr(ZhPerson, "first_names_male" if male else "first_names_female", None)
    if listed:
        base = sorted(set(listed))
    else:
        draw = fake.first_name_male if male else fake.first_name_female
        base = sorted({draw() for _ in range(600)})
    chars = sorted({c for name in base for c in name})
    out = list(base)
    while len(out) < n:  # two-character names from the characters of Faker's given names
        a, b = rng.choice(len(chars), 2)
        out.append(chars[a] + chars[b])
    return np.array(out)


def build_pools(seed: int) -> Pools:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = np.random.default_rng([seed, 1])
    surnames, surname_p = _weighted_surnames(fake)
    streets = sorted({w + s for w in STREET_WORDS for s in STREET_SUFFIXES}
                     | {fake.street_name() for _ in range(60)})
    communities = sorted({fake.last_name() + fake.first_name()[-1] + s
                          for s in COMMUNITY_SUFFIXES for _ in range(30)})
    prefixes = sorted({fake.company_prefix() for _ in range(300)})
    brands = sorted(set(prefixes) | {a + b for a in BRAND_CHARS for b in BRAND_CHARS if a != b})
    return Pools(
        surnames=surnames,
        surname_p=surname_p,
        male_given=_given(fake, True, 900, rng),
        female_given=_given(fake, False, 900, rng),
        streets=np.array(streets),
        communities=np.array(communities),
        brands=np.array(brands),
    )
