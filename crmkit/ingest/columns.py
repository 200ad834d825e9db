"""Headers to canonical columns: English and Chinese aliases, then ``--col`` / ``[columns]`` overrides."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping

from crmkit.errors import OptionError
from crmkit.schema import (
    AMOUNT,
    CATEGORY,
    CHANNEL,
    COST,
    COST_COMPONENTS,
    CUSTOMER_ID,
    EMAIL,
    MARGIN,
    NAME,
    ORDER_DATE,
    ORDER_ID,
    PHONE,
    PRODUCT,
    QUANTITY,
    REFUND,
    REGION,
    SALESPERSON,
    SIGNUP_DATE,
    STATUS,
    VALUE_COMPONENTS,
)

# --- headers ----------------------------------------------------------------------
#: Headers recognised for each canonical transaction column, most specific first.
#: A customer *name* column (客户名称, Customer Name) is deliberately not an id.
TRANSACTION_ALIASES: dict[str, tuple[str, ...]] = {
    CUSTOMER_ID: (
        "customer_id",
        "customer id",
        "customerid",
        "customer no",
        "customer number",
        "customer code",
        "cust id",
        "client id",
        "member id",
        "account id",
        "客户编号",
        "客户id",
        "客户代码",
        "客户号",
        "会员号",
        "会员编号",
        "会员id",
        "用户id",
        "顾客编号",
        "客户编码",  # Kingdee / Yonyou
        "买家会员名",  # Taobao / Tmall
        "会员名",
        "email",  # Shopify: the customer is the e-mail
        "e-mail",
    ),
    ORDER_DATE: (
        "order_date",
        "order date",
        "invoicedate",
        "invoice date",
        "purchase date",
        "transaction date",
        "sale date",
        "date",
        "订单日期",
        "下单时间",
        "下单日期",
        "交易日期",
        "销售日期",
        "购买日期",
        "订单时间",
        "单据日期",  # Kingdee / Yonyou
        "paid at",  # Shopify: the day the money came in ...
        "订单付款时间",  # Taobao / Tmall: likewise
        "付款时间",
        "created at",  # ... else the day the order was placed
        "订单创建时间",
        "创建时间",
        "日期",
    ),
    AMOUNT: (
        "amount",
        "sales",
        "revenue",
        "order amount",
        "sales amount",
        "total",
        "net sales",
        "value",
        "实付金额",
        "金额",
        "销售额",
        "订单金额",
        "成交金额",
        "实收金额",
        "销售金额",
        "买家实际支付金额",  # Taobao / Tmall
        "无税金额",  # Yonyou: before tax (价税合计 includes it)
        "本币无税金额",
        "价税合计",
        "本币价税合计",
    ),
    ORDER_ID: (
        "order_id",
        "order id",
        "orderid",
        "order no",
        "order number",
        "invoice",
        "invoiceno",
        "invoice no",
        "订单编号",
        "订单号",
        "单据编号",  # Kingdee / Yonyou
        "单据号",
        "单号",
    ),
    QUANTITY: ("quantity", "qty", "units", "lineitem quantity", "数量", "件数", "宝贝总数量"),
    COST: ("cost", "cogs", "unit cost total", "成本", "成本金额"),
    MARGIN: ("margin", "profit", "gross profit", "gross margin", "毛利", "利润", "毛利额"),
    PRODUCT: (
        "product",
        "item",
        "sku",
        "product name",
        "description",
        "lineitem name",
        "产品",
        "商品",
        "商品名称",
        "产品名称",
        "物料名称",
        "存货名称",
        "宝贝标题",
    ),
    CATEGORY: (
        "category",
        "product category",
        "item category",
        "product group",
        "product type",
        "品类",
        "类别",
        "商品分类",
        "产品类别",
        "商品类别",
        "产品分类",
        "商品类目",
        "类目",
        "分类",
    ),
    CHANNEL: ("channel", "sales channel", "渠道", "销售渠道"),
    SALESPERSON: (
        "salesperson",
        "sales rep",
        "salesrep",
        "sales person",
        "owner",
        "account manager",
        "销售员",
        "业务员",
        "销售",
        "客户经理",
        "销售代表",
    ),
    REGION: ("region", "area", "territory", "区域", "地区", "大区"),
    STATUS: (
        "status",
        "order status",
        "financial status",
        "payment status",
        "订单状态",
        "交易状态",
        "支付状态",
        "付款状态",
    ),
    REFUND: ("refund", "refunds", "refunded amount", "refund amount", "退款金额", "退款", "已退款金额", "退款额"),
}


#: Export layouts recognised by headers only they have, and the columns they name unlike anyone else
#: (Shopify's order number is "Name", next to "Billing Name" and "Shipping Name").
LAYOUTS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "shopify": (("Name", "Financial Status", "Lineitem name"), {ORDER_ID: "Name"}),
}


#: What an amount column holds, for the report: which revenue basis was used, and which others the file offers.
AMOUNT_BASES: dict[str, str] = {
    "金额": "before tax",
    "无税金额": "before tax",
    "本币无税金额": "before tax",
    "不含税金额": "before tax",
    "价税合计": "tax included",
    "本币价税合计": "tax included",
    "含税金额": "tax included",
    "total": "order total: tax and shipping included",
    "subtotal": "before tax and shipping",
    "买家实际支付金额": "paid by the buyer",
    "总金额": "order total before discounts",
}


#: Headers recognised in a customer master file (other columns are kept under their own header).
CUSTOMER_ALIASES: dict[str, tuple[str, ...]] = {
    CUSTOMER_ID: TRANSACTION_ALIASES[CUSTOMER_ID],
    NAME: ("name", "customer name", "customer", "client name", "客户名称", "客户姓名", "姓名", "名称", "会员名称"),
    REGION: TRANSACTION_ALIASES[REGION],
    SALESPERSON: TRANSACTION_ALIASES[SALESPERSON],
    CHANNEL: TRANSACTION_ALIASES[CHANNEL],
    SIGNUP_DATE: (
        "signup_date",
        "signup date",
        "sign up date",
        "created",
        "join date",
        "registration date",
        "注册日期",
        "开户日期",
        "入会日期",
        "注册时间",
    ),
    PHONE: ("phone", "mobile", "telephone", "电话", "手机", "手机号", "联系电话"),
    EMAIL: ("email", "e-mail", "邮箱", "电子邮件"),
    **dict(
        zip(
            VALUE_COMPONENTS,
            (
                ("product_value", "产品价值"),
                ("service_value", "服务价值"),
                ("personnel_value", "人员价值"),
                ("image_value", "形象价值"),
            ),
        )
    ),
    **dict(
        zip(
            COST_COMPONENTS,
            (
                ("monetary_cost", "货币成本"),
                ("time_cost", "时间成本"),
                ("energy_cost", "精力成本"),
                ("physical_cost", "体力成本"),
            ),
        )
    ),
}


_HEADER_NOISE = re.compile(r"[\s_\-./()（）:：#]+")


@functools.lru_cache(maxsize=1 << 14)
def normalise_header(text: object) -> str:
    """Case-, width- and punctuation-insensitive form of a header: 'Customer ID' == 'customer_id' == 'CUSTOMERID'."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(text)).strip().lower())


def detect_layout(headers: Iterable[object]) -> str | None:
    """The export layout whose signature headers are all present, else None."""
    forms = {normalise_header(h) for h in headers}
    return next(
        (name for name, (signature, _) in LAYOUTS.items() if {normalise_header(h) for h in signature} <= forms), None
    )


def match_columns(
    headers: Iterable[object], aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str]
) -> dict[str, str]:
    """Canonical column → header in the file: explicit overrides first, then a recognised layout's own
    columns, then the first alias that matches.

    Overrides name a header exactly (or case/punctuation-insensitively); a header
    is used for at most one canonical column.
    """
    texts = [str(h) for h in headers]
    layout = detect_layout(texts)
    if layout is not None:
        overrides = {**{c: h for c, h in LAYOUTS[layout][1].items() if c in aliases}, **overrides}
    by_form: dict[str, str] = {}
    for text in texts:
        by_form.setdefault(normalise_header(text), text)
    mapping: dict[str, str] = {}
    for canonical, wanted in overrides.items():
        header = wanted if wanted in texts else by_form.get(normalise_header(wanted))
        if header is not None:
            mapping[canonical] = header
    taken = set(mapping.values())
    for canonical, names in aliases.items():
        if canonical in mapping or canonical in overrides:
            continue
        for name in names:
            header = by_form.get(normalise_header(name))
            if header is not None and header not in taken:
                mapping[canonical] = header
                taken.add(header)
                break
    return mapping


def canonical_name(header: str) -> str:
    """The canonical column a header stands for ('区域', 'Sales Rep' → region, salesperson), else the header."""
    for aliases in (TRANSACTION_ALIASES, CUSTOMER_ALIASES):
        mapping = match_columns([header], aliases, {})
        if mapping:
            return next(iter(mapping))
    return header


def check_override_keys(overrides: Mapping[str, str], aliases: Mapping[str, tuple[str, ...]]) -> None:
    """Reject ``--col`` keys that are not canonical column names."""
    unknown = sorted(set(overrides) - set(aliases))
    if unknown:
        raise OptionError(
            f"unknown column name(s) in --col/[columns]: {', '.join(unknown)}",
            hint="canonical names are " + ", ".join(aliases),
        )
