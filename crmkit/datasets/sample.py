"""Realistic synthetic sales data: a buy-till-you-die customer base exported as order lines.

The shop is a tea merchant selling in stores, online, by phone and on WeChat
across five regions. Each customer makes a first purchase at an acquisition
date (more of them early in the period), then buys again as a Poisson process
at a rate λ ~ Gamma(r, α) per day and, right after each purchase, the first one
included, leaves for good with probability p ~ Beta(a, b) (the MBG/NBD story).
Each order's spend is Gamma(p, ν) with ν ~ Gamma(q, γ) per customer
(Gamma-Gamma); an order has one to three lines whose amounts add up to it, and
about 2% of lines come back a few days later as returns. The customer master
adds prospects who never buy and Kotler's customer delivered value components.

Everything is drawn with one seeded numpy Generator in a fixed order, so a seed
always gives the same frames, and all of it is vectorised over customers,
orders and lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from crmkit.datasets.btyd import purchase_traits, repeats_before_dropout
from crmkit.errors import OptionError
from crmkit.schema import (
    AMOUNT,
    CATEGORY,
    CHANNEL,
    COST,
    COST_COMPONENTS,
    CUSTOMER_ID,
    NAME,
    ORDER_DATE,
    ORDER_ID,
    PHONE,
    PRODUCT,
    QUANTITY,
    REGION,
    SALESPERSON,
    SIGNUP_DATE,
    VALUE_COMPONENTS,
    check_lang,
)

# --- model parameters (time unit: day) ----------------------------------------------------------
#: MBG/NBD purchase process: λ ~ Gamma(r, α) repeat purchases per day, dropout p ~ Beta(a, b) after each purchase.
PURCHASE_PARAMS: Final[Mapping[str, float]] = {"r": 0.6, "alpha": 20.0, "a": 0.7, "b": 4.0}
#: Gamma-Gamma spend per order in yuan: ν ~ Gamma(q, γ = v), spend ~ Gamma(p, ν); mean spend p·v/(q−1) ≈ ¥350.
SPEND_PARAMS: Final[Mapping[str, float]] = {"p": 5.0, "q": 4.0, "v": 210.0}
#: Acquisition dates: the share of the period elapsed is Beta(a, b), more customers early on.
ACQUISITION_BETA: Final = (0.8, 1.5)
#: Smallest order: spends below it are raised to it (in cents).
MIN_ORDER_CENTS: Final = 1000
#: Mean days between signing up and the first purchase (exponential).
SIGNUP_LEAD_DAYS: Final = 21.0
#: Default number of prospects as a share of the buying customers.
PROSPECT_SHARE: Final = 0.03
LINES_PER_ORDER: Final = (1, 2, 3)
LINES_WEIGHTS: Final = (0.62, 0.26, 0.12)
RETURN_RATE: Final = 0.02
RETURN_MAX_DAYS: Final = 14
COST_RATIO_RANGE: Final = (0.55, 0.75)
#: Share of a customer's orders through the customer's usual channel / with the customer's own salesperson.
HOME_CHANNEL_SHARE: Final = 0.85
OWN_SALESPERSON_SHARE: Final = 0.92
ID_DIGITS: Final = 7
MAX_CUSTOMERS: Final = 10**ID_DIGITS - 1

# --- the business (canonical English values, Chinese for exports in zh) ---------------------------
CHANNELS: Final = ("store", "online", "phone", "wechat")
CHANNEL_WEIGHTS: Final = (0.40, 0.30, 0.10, 0.20)
CHANNEL_ZH: Final = {"store": "门店", "online": "网店", "phone": "电话", "wechat": "微信"}
REGIONS: Final = ("East", "South", "North", "Central", "Southwest")
REGION_WEIGHTS: Final = (0.30, 0.25, 0.20, 0.15, 0.10)
REGION_ZH: Final = {"East": "华东", "South": "华南", "North": "华北", "Central": "华中", "Southwest": "西南"}
#: Salespeople as (name, Chinese name, region); each looks after customers of one region.
SALESPEOPLE: Final = (
    ("Zhou Min", "周敏", "East"),
    ("Wu Hao", "吴浩", "East"),
    ("Xu Jing", "徐静", "East"),
    ("Lin Tao", "林涛", "South"),
    ("Huang Li", "黄丽", "South"),
    ("Zhao Lei", "赵磊", "North"),
    ("Sun Yan", "孙燕", "North"),
    ("Ma Jun", "马军", "Central"),
    ("Hu Ping", "胡萍", "Central"),
    ("Guo Qiang", "郭强", "Southwest"),
    ("He Xia", "何霞", "Southwest"),
)
#: Product categories as (name, Chinese name).
CATEGORIES: Final = (
    ("Green tea", "绿茶"),
    ("Black tea", "红茶"),
    ("Oolong tea", "乌龙茶"),
    ("Pu'er", "普洱"),
    ("Teaware", "茶具"),
    ("Gifts", "礼品"),
    ("Snacks", "茶点"),
)
#: Products as (name, Chinese name, list price in yuan, popularity (share of lines), cost ratio, category).
PRODUCTS: Final = (
    ("Longjing", "西湖龙井", 128.0, 0.08, 0.64, "Green tea"),
    ("Biluochun", "碧螺春", 98.0, 0.06, 0.62, "Green tea"),
    ("Maofeng", "黄山毛峰", 68.0, 0.06, 0.60, "Green tea"),
    ("Keemun", "祁门红茶", 88.0, 0.06, 0.62, "Black tea"),
    ("Dianhong", "滇红", 58.0, 0.06, 0.60, "Black tea"),
    ("Lapsang souchong", "正山小种", 78.0, 0.05, 0.62, "Black tea"),
    ("Tieguanyin", "铁观音", 98.0, 0.07, 0.64, "Oolong tea"),
    ("Da Hong Pao", "大红袍", 168.0, 0.05, 0.66, "Oolong tea"),
    ("Dancong", "凤凰单丛", 118.0, 0.03, 0.64, "Oolong tea"),
    ("Pu'er cake", "普洱茶饼", 128.0, 0.06, 0.66, "Pu'er"),
    ("Ripe Pu'er", "熟普洱", 98.0, 0.04, 0.64, "Pu'er"),
    ("Tea set", "茶具套装", 268.0, 0.04, 0.72, "Teaware"),
    ("Teapot", "紫砂壶", 198.0, 0.04, 0.68, "Teaware"),
    ("Tea cups", "茶杯", 38.0, 0.06, 0.58, "Teaware"),
    ("Tea tray", "茶盘", 158.0, 0.02, 0.70, "Teaware"),
    ("Gaiwan", "盖碗", 88.0, 0.03, 0.66, "Teaware"),
    ("Kettle", "随手泡", 228.0, 0.02, 0.72, "Teaware"),
    ("Tea knife", "普洱茶刀", 28.0, 0.02, 0.56, "Teaware"),
    ("Gift box", "礼盒", 168.0, 0.05, 0.70, "Gifts"),
    ("Gift bag", "礼品袋", 12.0, 0.02, 0.56, "Gifts"),
    ("Dried fruit", "果脯", 35.0, 0.03, 0.58, "Snacks"),
    ("Tea snacks", "茶点", 45.0, 0.03, 0.58, "Snacks"),
)
#: What goes with what: a product and the products bought with it in the same order, with relative weights.
COMPLEMENTS: Final[Mapping[str, tuple[tuple[str, float], ...]]] = {
    "Teapot": (("Tea cups", 3.0), ("Tea tray", 2.0), ("Kettle", 1.0)),
    "Tea set": (("Tea tray", 3.0), ("Kettle", 2.0), ("Tea cups", 1.0)),
    "Gaiwan": (("Tea cups", 2.0), ("Tieguanyin", 1.0)),
    "Tea cups": (("Teapot", 1.0), ("Gaiwan", 1.0)),
    "Tea tray": (("Tea cups", 1.0), ("Kettle", 1.0)),
    "Kettle": (("Tea set", 1.0), ("Tea tray", 1.0)),
    "Tea knife": (("Pu'er cake", 1.0),),
    "Pu'er cake": (("Tea knife", 3.0), ("Ripe Pu'er", 1.0)),
    "Ripe Pu'er": (("Pu'er cake", 2.0), ("Tea knife", 1.0)),
    "Gift box": (("Gift bag", 4.0), ("Da Hong Pao", 1.0), ("Longjing", 1.0)),
    "Gift bag": (("Gift box", 1.0),),
    "Da Hong Pao": (("Gift box", 2.0), ("Tieguanyin", 1.0)),
    "Longjing": (("Biluochun", 1.0), ("Gaiwan", 1.0), ("Tea snacks", 1.0)),
    "Biluochun": (("Longjing", 1.0), ("Maofeng", 1.0)),
    "Maofeng": (("Biluochun", 1.0), ("Longjing", 1.0)),
    "Keemun": (("Dianhong", 1.0), ("Tea snacks", 1.0)),
    "Dianhong": (("Keemun", 1.0), ("Dried fruit", 1.0)),
    "Lapsang souchong": (("Keemun", 1.0), ("Tea snacks", 1.0)),
    "Tieguanyin": (("Gaiwan", 1.0), ("Dancong", 1.0)),
    "Dancong": (("Tieguanyin", 1.0),),
    "Dried fruit": (("Tea snacks", 1.0),),
    "Tea snacks": (("Dried fruit", 1.0), ("Longjing", 1.0)),
}
#: An order's first line is from the customer's favourite category with this probability (else any product);
#: each further line is a complement of the first with COMPLEMENT_SHARE, else drawn like a first line.
FAVOURITE_SHARE: Final = 0.5
COMPLEMENT_SHARE: Final = 0.6
#: The product draws use their own random stream (from the same seed), so dates and amounts do not depend
#: on the catalogue.
PRODUCT_STREAM: Final = 1
#: Customer names are a surname and a given name, each as (pinyin, Chinese); pinyin values are unique.
SURNAMES: Final = (
    ("Wang", "王"),
    ("Li", "李"),
    ("Zhang", "张"),
    ("Liu", "刘"),
    ("Chen", "陈"),
    ("Yang", "杨"),
    ("Huang", "黄"),
    ("Zhao", "赵"),
    ("Wu", "吴"),
    ("Zhou", "周"),
    ("Xu", "徐"),
    ("Sun", "孙"),
    ("Ma", "马"),
    ("Zhu", "朱"),
    ("Hu", "胡"),
    ("Guo", "郭"),
    ("He", "何"),
    ("Gao", "高"),
    ("Lin", "林"),
    ("Luo", "罗"),
    ("Zheng", "郑"),
    ("Liang", "梁"),
    ("Xie", "谢"),
    ("Song", "宋"),
)
GIVEN_NAMES: Final = (
    ("Wei", "伟"),
    ("Fang", "芳"),
    ("Na", "娜"),
    ("Xiuying", "秀英"),
    ("Min", "敏"),
    ("Jing", "静"),
    ("Li", "丽"),
    ("Qiang", "强"),
    ("Lei", "磊"),
    ("Jun", "军"),
    ("Yang", "洋"),
    ("Yong", "勇"),
    ("Yan", "艳"),
    ("Jie", "杰"),
    ("Juan", "娟"),
    ("Tao", "涛"),
    ("Ming", "明"),
    ("Chao", "超"),
    ("Xiulan", "秀兰"),
    ("Xia", "霞"),
    ("Ping", "平"),
    ("Gang", "刚"),
    ("Guilan", "桂兰"),
    ("Hui", "慧"),
    ("Haoran", "浩然"),
    ("Zihan", "子涵"),
    ("Yuxuan", "宇轩"),
    ("Xinyi", "欣怡"),
    ("Jiahao", "嘉豪"),
    ("Yutong", "雨彤"),
)
PHONE_PREFIXES: Final = ("138", "139", "137", "136", "135", "158", "159", "186", "187", "188", "150", "133")

# --- export headers --------------------------------------------------------------------------------
TRANSACTION_COLUMNS: Final = (
    ORDER_ID,
    ORDER_DATE,
    CUSTOMER_ID,
    PRODUCT,
    CATEGORY,
    CHANNEL,
    REGION,
    SALESPERSON,
    QUANTITY,
    AMOUNT,
    COST,
)
CUSTOMER_COLUMNS: Final = (
    CUSTOMER_ID,
    NAME,
    REGION,
    SALESPERSON,
    SIGNUP_DATE,
    PHONE,
    *VALUE_COMPONENTS,
    *COST_COMPONENTS,
)
TRANSACTION_HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "Order ID",
        "Order Date",
        "Customer ID",
        "Product",
        "Category",
        "Channel",
        "Region",
        "Salesperson",
        "Quantity",
        "Amount",
        "Cost",
    ),
    "zh": ("订单编号", "订单日期", "客户编号", "产品", "品类", "渠道", "区域", "销售员", "数量", "实付金额", "成本"),
}
CUSTOMER_HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "Customer ID",
        "Customer Name",
        "Region",
        "Salesperson",
        "Signup Date",
        "Phone",
        *VALUE_COMPONENTS,
        *COST_COMPONENTS,
    ),
    "zh": (
        "客户编号",
        "客户名称",
        "区域",
        "销售员",
        "注册日期",
        "电话",
        "产品价值",
        "服务价值",
        "人员价值",
        "形象价值",
        "货币成本",
        "时间成本",
        "精力成本",
        "体力成本",
    ),
}


@dataclass(frozen=True)
class SampleData:
    """Simulated sales: order lines, the customer master (with prospects) and the hidden truth per buyer."""

    transactions: pd.DataFrame
    customers: pd.DataFrame
    truth: pd.DataFrame


@dataclass(frozen=True)
class _Customers:
    """Latent traits and fixed attributes of every customer, buyers first, then prospects."""

    rate: np.ndarray  # repeat purchases per day
    dropout: np.ndarray  # probability of leaving after each purchase
    spend_scale: np.ndarray  # ν of the Gamma-Gamma spend model
    region: np.ndarray  # index into REGIONS
    salesperson: np.ndarray  # index into SALESPEOPLE
    channel: np.ndarray  # usual channel, index into CHANNELS
    favourite: np.ndarray  # favourite category, index into CATEGORIES


def simulate_sales(
    n_customers: int, *, seed: int = 7, start: str = "2023-01-01", end: str = "2024-12-31", prospects: int | None = None
) -> SampleData:
    """Simulate ``n_customers`` buying customers between ``start`` and ``end`` (inclusive) plus prospects.

    Frames use the canonical column names of :mod:`crmkit.schema`. ``prospects``
    (default 3% of ``n_customers``) are in the customer master but never buy.
    About 2,000 customers give about 20,000 order lines over two years.
    """
    first_day, last_day = _period(start, end)
    n_prospects = round(PROSPECT_SHARE * n_customers) if prospects is None else prospects
    _check_counts(n_customers, n_prospects)
    rng = np.random.default_rng(seed)
    products = np.random.default_rng([seed, PRODUCT_STREAM])
    span = (last_day - first_day).days + 1
    traits = _draw_traits(rng, products, n_customers + n_prospects)

    # Purchase occasions of the buyers, in days since the first day (continuous time).
    acquired = span * rng.beta(*ACQUISITION_BETA, n_customers)
    window = span - acquired
    rate, dropout = traits.rate[:n_customers], traits.dropout[:n_customers]
    repeats_before_leaving = repeats_before_dropout(dropout, rng, modified=True)
    arrivals = rng.poisson(rate * window)
    alive = repeats_before_leaving > arrivals
    owner, times = _purchase_times(rng, acquired, window, arrivals, np.minimum(arrivals, repeats_before_leaving))
    order_day = np.minimum(np.floor(times), span - 1).astype(np.int64)

    # Customer ids are numbered in signup order, prospects included.
    first_purchase_day = np.floor(acquired).astype(np.int64)
    signup = np.concatenate(
        [
            first_purchase_day - np.floor(rng.exponential(SIGNUP_LEAD_DAYS, n_customers)).astype(np.int64),
            rng.integers(0, span, n_prospects),
        ]
    )
    number = np.empty(signup.size, dtype=np.int64)
    number[np.argsort(signup, kind="stable")] = np.arange(1, signup.size + 1)
    ids = _ids(number)

    lines = _order_lines(rng, products, traits, owner, order_day, span)
    tx = pd.DataFrame(
        {
            ORDER_ID: lines["order_id"],
            ORDER_DATE: first_day + pd.to_timedelta(lines["day"], unit="D"),
            CUSTOMER_ID: ids[lines["customer"]],
            PRODUCT: _values([p[0] for p in PRODUCTS], lines["product"]),
            CATEGORY: _values([p[5] for p in PRODUCTS], lines["product"]),
            CHANNEL: _values(CHANNELS, lines["channel"]),
            REGION: _values(REGIONS, traits.region[lines["customer"]]),
            SALESPERSON: _values([s[0] for s in SALESPEOPLE], lines["salesperson"]),
            QUANTITY: lines["quantity"],
            AMOUNT: lines["amount"],
            COST: lines["cost"],
        }
    )

    revenue = np.bincount(lines["customer"], lines["amount"], minlength=signup.size)
    customers = _master(rng, traits, ids, first_day + pd.to_timedelta(signup, unit="D"), revenue)
    last_purchase = np.full(n_customers, -1, dtype=np.int64)
    np.maximum.at(last_purchase, owner, order_day)
    truth = pd.DataFrame(
        {
            CUSTOMER_ID: ids[:n_customers],
            "purchase_rate": rate,
            "dropout_prob": dropout,
            "alive": alive,
            "dropout_date": (first_day + pd.to_timedelta(last_purchase, unit="D")).where(~alive),
        }
    )
    return SampleData(
        transactions=tx,
        customers=customers.sort_values(CUSTOMER_ID, ignore_index=True),
        truth=truth.sort_values(CUSTOMER_ID, ignore_index=True),
    )


def localise_sample(sample: SampleData, lang: str) -> SampleData:
    """The frames as a CRM/ERP export in ``lang`` ("en" or "zh") shows them, ready to write to a file.

    English keeps the values and real dates under export headers ("Order ID", ...).
    Chinese also translates products, channels, regions, salespeople and names and
    writes dates as text like ``2024年1月5日``. The truth is returned unchanged.
    """
    check_lang(lang)
    tx = sample.transactions.loc[:, list(TRANSACTION_COLUMNS)].copy()
    customers = sample.customers.loc[:, list(CUSTOMER_COLUMNS)].copy()
    if lang == "zh":
        tx[ORDER_DATE] = chinese_dates(tx[ORDER_DATE])
        tx[PRODUCT] = _translate(tx[PRODUCT], {p[0]: p[1] for p in PRODUCTS})
        tx[CATEGORY] = _translate(tx[CATEGORY], dict(CATEGORIES))
        tx[CHANNEL] = _translate(tx[CHANNEL], CHANNEL_ZH)
        salespeople = {s[0]: s[1] for s in SALESPEOPLE}
        for frame in (tx, customers):
            frame[REGION] = _translate(frame[REGION], REGION_ZH)
            frame[SALESPERSON] = _translate(frame[SALESPERSON], salespeople)
        customers[NAME] = chinese_names(customers[NAME])
        customers[SIGNUP_DATE] = chinese_dates(customers[SIGNUP_DATE])
    tx.columns = list(TRANSACTION_HEADERS[lang])
    customers.columns = list(CUSTOMER_HEADERS[lang])
    return SampleData(transactions=tx, customers=customers, truth=sample.truth)


def chinese_dates(dates: pd.Series) -> pd.Series:
    """Dates as Chinese text without zero padding, e.g. ``2024年1月5日``; missing dates stay missing."""
    parts = [dates.dt.year, dates.dt.month, dates.dt.day]
    year, month, day = (part.astype("Int64").astype("str") for part in parts)
    return (year + "年" + month + "月" + day + "日").where(dates.notna())


def chinese_names(names: pd.Series) -> pd.Series:
    """Simulated pinyin names ("Zhang Wei") in Chinese characters ("张伟"); other names are kept."""
    parts = names.str.split(" ", n=1)
    surname, given = parts.str[0].map(dict(SURNAMES)), parts.str[1].map(dict(GIVEN_NAMES))
    chinese = (surname + given).astype("str")
    return chinese.where(chinese.notna(), names)


def _period(start: str, end: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    try:
        first_day, last_day = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    except (ValueError, TypeError) as error:
        raise OptionError(
            f"cannot read the simulation period {start!r} to {end!r}: {error}", hint="give dates as YYYY-MM-DD"
        ) from None
    if last_day < first_day:
        raise OptionError(
            f"the simulation period ends ({last_day:%Y-%m-%d}) before it starts ({first_day:%Y-%m-%d})",
            hint="give an end date on or after the start date",
        )
    return first_day, last_day


def _check_counts(n_customers: int, n_prospects: int) -> None:
    if n_customers < 1:
        raise OptionError(f"cannot simulate {n_customers} customers", hint="ask for at least 1 customer")
    if n_prospects < 0:
        raise OptionError(f"cannot simulate {n_prospects} prospects", hint="ask for 0 or more prospects")
    if n_customers + n_prospects > MAX_CUSTOMERS:
        raise OptionError(
            f"{n_customers + n_prospects:,} customers do not fit {ID_DIGITS}-digit customer ids",
            hint=f"simulate at most {MAX_CUSTOMERS:,} customers and prospects",
        )


def _draw_traits(rng: np.random.Generator, products: np.random.Generator, n: int) -> _Customers:
    """Latent purchase rate, dropout and spend scale plus region, salesperson, usual channel and favourite
    category (from the ``products`` stream) of ``n`` customers."""
    rate, dropout = purchase_traits(PURCHASE_PARAMS, n, rng)
    spend_scale = rng.gamma(SPEND_PARAMS["q"], 1.0 / SPEND_PARAMS["v"], n)
    region = rng.choice(len(REGIONS), n, p=REGION_WEIGHTS)
    salesperson = _salesperson_in_region(rng, region)
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_WEIGHTS)
    category_share = np.bincount(_category_of_products(), weights=_popularity(), minlength=len(CATEGORIES))
    favourite = products.choice(len(CATEGORIES), n, p=category_share)
    return _Customers(rate, dropout, spend_scale, region, salesperson, channel, favourite)


def _salesperson_in_region(
    rng: np.random.Generator, region: np.ndarray, *, other_than: np.ndarray | None = None
) -> np.ndarray:
    """A salesperson (index into SALESPEOPLE) of each ``region``, different from ``other_than`` where it can be."""
    home = np.array([REGIONS.index(s[2]) for s in SALESPEOPLE])
    first = np.searchsorted(home, np.arange(len(REGIONS)))  # SALESPEOPLE is grouped by region
    count = np.bincount(home, minlength=len(REGIONS))
    if other_than is None:
        return first[region] + rng.integers(0, count[region])
    slot = other_than - first[region]
    shift = rng.integers(1, np.maximum(count[region], 2))
    return first[region] + (slot + shift) % count[region]


def _purchase_times(
    rng: np.random.Generator, acquired: np.ndarray, window: np.ndarray, arrivals: np.ndarray, kept: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Customer and time of every purchase: the first at ``acquired``, then the first ``kept`` of ``arrivals``.

    A Poisson process with ``arrivals`` points in the window puts them at sorted
    uniform times; the customer leaves after the ``kept``-th repeat purchase.
    """
    customer = np.repeat(np.arange(acquired.size), arrivals)
    offset = rng.random(customer.size)
    order = np.lexsort((offset, customer))
    rank = np.arange(customer.size) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    repeat_customer, repeat_offset = customer[order], offset[order]
    keep = rank < kept[repeat_customer]
    repeat_customer, repeat_offset = repeat_customer[keep], repeat_offset[keep]
    owner = np.concatenate([np.arange(acquired.size), repeat_customer])
    times = np.concatenate([acquired, acquired[repeat_customer] + repeat_offset * window[repeat_customer]])
    return owner, times


def _order_lines(
    rng: np.random.Generator,
    products: np.random.Generator,
    traits: _Customers,
    owner: np.ndarray,
    order_day: np.ndarray,
    span: int,
) -> dict[str, np.ndarray]:
    """Order lines (returns included) of the orders ``owner`` placed on ``order_day``, in date order.

    Each order gets a Gamma-Gamma spend split over 1-3 lines (the cents add up
    exactly), a channel and a salesperson; returns copy a line with negative
    quantity, amount and cost a few days later under the same order id.
    """
    # Orders are numbered in date order; same-day orders in random order.
    sequence = np.lexsort((rng.random(owner.size), order_day))
    owner, order_day = owner[sequence], order_day[sequence]
    n_orders = owner.size
    spend = rng.gamma(SPEND_PARAMS["p"], 1.0 / traits.spend_scale[owner])
    cents = np.maximum(np.round(spend * 100), MIN_ORDER_CENTS).astype(np.int64)
    channel = np.where(
        rng.random(n_orders) < HOME_CHANNEL_SHARE,
        traits.channel[owner],
        rng.choice(len(CHANNELS), n_orders, p=CHANNEL_WEIGHTS),
    )
    own = traits.salesperson[owner]
    other = _salesperson_in_region(rng, traits.region[owner], other_than=own)
    salesperson = np.where(rng.random(n_orders) < OWN_SALESPERSON_SHARE, own, other)

    # Split each order's cents over its lines (no line below ~3% of the order), the rounding remainder on the first.
    n_lines = rng.choice(LINES_PER_ORDER, n_orders, p=LINES_WEIGHTS)
    order = np.repeat(np.arange(n_orders), n_lines)
    first_line = np.cumsum(n_lines) - n_lines
    line_no = np.arange(order.size) - first_line[order]
    weight = 1.0 + rng.gamma(2.0, 1.0, order.size)
    share = weight / np.bincount(order, weight)[order]
    line_cents = 1 + np.floor((cents[order] - n_lines[order]) * share).astype(np.int64)
    line_cents[first_line] += cents - np.bincount(order, line_cents, minlength=n_orders).astype(np.int64)

    # One uniform per line from the main stream (as a plain draw of products would take) picks the product
    # from the distribution the products stream chose for the line.
    product = _line_products(products, rng.random(order.size), traits.favourite[owner][order], first_line[order])
    price = np.array([p[2] for p in PRODUCTS])[product]
    amount = line_cents / 100
    quantity = np.maximum(np.round(amount / price), 1).astype(np.int64)
    ratio = np.clip(np.array([p[4] for p in PRODUCTS])[product] + rng.normal(0.0, 0.03, order.size), *COST_RATIO_RANGE)
    cost = np.round(amount * ratio, 2)
    day = order_day[order]

    # Returns: a whole line comes back 1-14 days later, if that is still inside the period.
    return_day = day + rng.integers(1, RETURN_MAX_DAYS + 1, order.size)
    returned = np.flatnonzero((rng.random(order.size) < RETURN_RATE) & (return_day < span))
    is_return = np.concatenate([np.zeros(order.size, bool), np.ones(returned.size, bool)])
    order = np.concatenate([order, order[returned]])
    day = np.concatenate([day, return_day[returned]])
    line_no = np.concatenate([line_no, line_no[returned]])
    sign = np.where(is_return, -1, 1)
    quantity = np.concatenate([quantity, quantity[returned]]) * sign
    amount = np.concatenate([amount, amount[returned]]) * sign
    cost = np.concatenate([cost, cost[returned]]) * sign
    product = np.concatenate([product, product[returned]])

    rows = np.lexsort((line_no, is_return, order, day))
    return {
        "order_id": _order_ids(order[rows]),
        "day": day[rows],
        "customer": owner[order[rows]],
        "product": product[rows],
        "channel": channel[order[rows]],
        "salesperson": salesperson[order[rows]],
        "quantity": quantity[rows],
        "amount": amount[rows],
        "cost": cost[rows],
    }


def _popularity() -> np.ndarray:
    shares = np.array([p[3] for p in PRODUCTS])
    return shares / shares.sum()


def _category_of_products() -> np.ndarray:
    names = [c[0] for c in CATEGORIES]
    return np.array([names.index(p[5]) for p in PRODUCTS])


def _product_distributions() -> np.ndarray:
    """Cumulative distributions over the products, one per row: 0 every product by popularity, 1 … C the
    products of each category, then for each product its complements."""
    popularity, category = _popularity(), _category_of_products()
    names = [p[0] for p in PRODUCTS]
    rows = [popularity]
    rows += [np.where(category == c, popularity, 0.0) for c in range(len(CATEGORIES))]
    for name in names:
        weights = np.zeros(len(PRODUCTS))
        for complement, weight in COMPLEMENTS.get(name, ()):
            weights[names.index(complement)] = weight
        rows.append(weights if weights.any() else popularity)
    cumulative = np.cumsum(np.array(rows), axis=1)
    cumulative /= cumulative[:, -1:]
    cumulative[:, -1] = 1.0
    return cumulative


def _line_products(
    products: np.random.Generator, uniform: np.ndarray, favourite: np.ndarray, first_line: np.ndarray
) -> np.ndarray:
    """The product of each order line (lines grouped by order; ``first_line`` is each line's order's first).

    A first line is from the customer's favourite category (FAVOURITE_SHARE) or any product by popularity;
    a further line is a complement of its order's first product (COMPLEMENT_SHARE), else drawn like a first
    line. ``uniform`` picks the product from the chosen distribution (inverse CDF, all rows at once).
    """
    cumulative = _product_distributions()
    lines = np.arange(uniform.size)
    like_first = np.where(products.random(uniform.size) < FAVOURITE_SHARE, 1 + favourite, 0)
    first = lines == first_line
    chosen = _inverse_cdf(cumulative, like_first, uniform)
    complement = ~first & (products.random(uniform.size) < COMPLEMENT_SHARE)
    rows = np.where(complement, 1 + len(CATEGORIES) + chosen[first_line], like_first)
    return np.where(first, chosen, _inverse_cdf(cumulative, rows, uniform))


def _inverse_cdf(cumulative: np.ndarray, rows: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """``searchsorted`` of each uniform in its own row of ``cumulative``: rows are laid end to end, each shifted
    by its index, so one search serves every row."""
    width = cumulative.shape[1]
    flat = (cumulative + np.arange(len(cumulative))[:, None]).ravel()
    found = np.searchsorted(flat, rows + uniform, side="right") - rows * width
    return np.minimum(found, width - 1)


def _master(
    rng: np.random.Generator, traits: _Customers, ids: np.ndarray, signup: pd.DatetimeIndex, revenue: np.ndarray
) -> pd.DataFrame:
    """The customer master: names, region, salesperson, signup date, phone and delivered value scores (0-100).

    Value scores rise with how much and how often a customer buys (prospects score
    from their latent traits); time, energy and physical costs fall with how often
    they buy and the physical cost is higher for store customers.
    """
    n = ids.size
    surname = rng.integers(0, len(SURNAMES), n)
    given = rng.integers(0, len(GIVEN_NAMES), n)
    names = _values([s[0] for s in SURNAMES], surname) + " " + _values([g[0] for g in GIVEN_NAMES], given)
    phone = _values(PHONE_PREFIXES, rng.integers(0, len(PHONE_PREFIXES), n)) + pd.Series(
        rng.integers(0, 10**8, n)
    ).astype("str").str.zfill(8)

    mean_spend = SPEND_PARAMS["p"] / traits.spend_scale
    spend = _standardise(np.log(mean_spend))
    often = _standardise(np.log(traits.rate))
    bought = _standardise(np.log1p(np.maximum(revenue, 0.0)))
    store = (traits.channel == CHANNELS.index("store")).astype(np.float64)
    online = (traits.channel == CHANNELS.index("online")).astype(np.float64)
    loadings = {  # (base, spend, frequency, revenue, store, online, noise)
        "product_value": (62, 5, 3, 4, 0, 0, 9),
        "service_value": (58, 2, 4, 4, 3, -2, 10),
        "personnel_value": (55, 2, 3, 3, 5, -4, 11),
        "image_value": (60, 4, 1, 3, 0, 0, 10),
        "monetary_cost": (45, 7, -1, 0, 0, -2, 9),
        "time_cost": (40, 0, -4, -2, 4, -6, 10),
        "energy_cost": (38, 0, -3, -2, 2, -3, 10),
        "physical_cost": (35, 0, -2, -1, 8, -8, 10),
    }
    scores = {
        col: np.round(
            np.clip(
                base + s * spend + f * often + m * bought + st * store + on * online + noise * rng.standard_normal(n),
                0,
                100,
            ),
            1,
        )
        for col, (base, s, f, m, st, on, noise) in loadings.items()
    }
    return pd.DataFrame(
        {
            CUSTOMER_ID: ids,
            NAME: names.to_numpy(),
            REGION: _values(REGIONS, traits.region),
            SALESPERSON: _values([s[0] for s in SALESPEOPLE], traits.salesperson),
            SIGNUP_DATE: signup,
            PHONE: phone.to_numpy(),
            **scores,
        }
    )


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def _ids(number: np.ndarray) -> np.ndarray:
    """Customer ids as zero-padded text, e.g. ``0001234``."""
    return pd.Series(number).astype("str").str.zfill(ID_DIGITS).to_numpy()


def _order_ids(order: np.ndarray) -> np.ndarray:
    """Order ids like ``SO0000123`` from 0-based order numbers."""
    return ("SO" + pd.Series(order + 1).astype("str").str.zfill(ID_DIGITS)).to_numpy()


def _values(vocabulary: Sequence[str], codes: np.ndarray) -> pd.Series:
    """Text column of ``vocabulary[codes]``."""
    return pd.Series(np.asarray(vocabulary, dtype=object)[codes], dtype="str")


def _translate(values: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """``values`` through ``mapping``; values it does not know are kept."""
    translated = values.map(mapping)
    return translated.where(translated.notna(), values).astype("str")
