"""English and Chinese labels and one-line definitions for everything a person reads.

Machine formats (CSV, Parquet, JSON) keep the canonical English keys from
:mod:`crmkit.schema`; only the workbook and the terminal show these labels.
Each table maps a canonical key to ``(english, chinese)``. Keys that no table
knows (a column from the user's own file) pass through unchanged.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import (
    CATEGORY,
    CHANNEL,
    CUSTOMER_ID,
    EMAIL,
    NAME,
    PHONE,
    PRODUCT,
    REASON_AMOUNT,
    REASON_DATE,
    REASON_ID,
    REASON_REPEAT,
    REGION,
    SALESPERSON,
    SIGNUP_DATE,
    check_lang,
)
from crmkit.scoring.basket import MAX_OFFERS
from crmkit.scoring.lifecycle import DEFAULT_RULES, STAGE_PRECEDENCE, LifecycleRules

TIER_LABELS: Final[dict[str, tuple[str, str]]] = {
    "platinum": ("Platinum", "铂金"),
    "gold": ("Gold", "黄金"),
    "iron": ("Iron", "铁"),
    "prospect": ("Prospect", "潜在客户"),
}
STAGE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "acquisition": ("Acquisition", "潜在获取期"),
    "growth": ("Growth", "成长期"),
    "maturity": ("Maturity", "成熟期"),
    "decline": ("Decline", "衰退期"),
    "termination": ("Termination", "终止期"),
}
CHURN_BAND_LABELS: Final[dict[str, tuple[str, str]]] = {
    "low": ("Low", "低"),
    "medium": ("Medium", "中"),
    "high": ("High", "高"),
}
#: Purchase models, by their --model name (a vocabulary of the ``model`` field only: "pareto" is also a heading).
MODEL_LABELS: Final[dict[str, tuple[str, str]]] = {
    "mbgnbd": ("MBG/NBD", "MBG/NBD"),
    "bgnbd": ("BG/NBD", "BG/NBD"),
    "pareto": ("Pareto/NBD", "Pareto/NBD"),
}
#: Values the comparison and the rollup add: a customer missing from one snapshot, a row without a group.
MISSING_LABELS: Final[dict[str, tuple[str, str]]] = {
    "absent": ("Absent", "未出现"),
    "(none)": ("(none)", "(无)"),
}
SEGMENT_LABELS: Final[dict[str, tuple[str, str]]] = {
    "champions": ("Champions", "冠军客户"),
    "loyal": ("Loyal", "忠诚客户"),
    "potential_loyalist": ("Potential loyalist", "潜力客户"),
    "new": ("New", "新客户"),
    "promising": ("Promising", "有望客户"),
    "need_attention": ("Need attention", "需关注客户"),
    "about_to_sleep": ("About to sleep", "即将沉睡"),
    "at_risk": ("At risk", "流失风险"),
    "cant_lose_them": ("Can't lose them", "不能失去"),
    "hibernating": ("Hibernating", "休眠客户"),
    "lost": ("Lost", "已流失"),
    "important_value": ("Important value", "重要价值客户"),
    "important_development": ("Important development", "重要发展客户"),
    "important_retention": ("Important retention", "重要保持客户"),
    "important_winback": ("Important win-back", "重要挽留客户"),
    "general_value": ("General value", "一般价值客户"),
    "general_development": ("General development", "一般发展客户"),
    "general_retention": ("General retention", "一般保持客户"),
    "general_winback": ("General win-back", "一般挽留客户"),
}
COLUMN_LABELS: Final[dict[str, tuple[str, str]]] = {
    CUSTOMER_ID: ("Customer ID", "客户编号"),
    "first_purchase": ("First purchase", "首次购买日期"),
    "last_purchase": ("Last purchase", "最近购买日期"),
    "n_orders": ("Orders", "订单数"),
    "frequency": ("Repeat purchases", "重复购买次数"),
    "recency": ("Recency (first to last purchase)", "首末购买间隔"),
    "T": ("Customer age (T)", "客户年龄 (T)"),
    "days_since_last": ("Days since last purchase", "距最近购买天数"),
    "total_revenue": ("Total revenue", "累计销售额"),
    "total_margin": ("Total margin", "累计毛利"),
    "avg_order_value": ("Average order value", "平均订单金额"),
    "monetary": ("Average repeat spend", "平均重复消费额"),
    "r_score": ("R score", "R 得分"),
    "f_score": ("F score", "F 得分"),
    "m_score": ("M score", "M 得分"),
    "rfm_score": ("RFM score", "RFM 得分"),
    "segment": ("RFM segment", "RFM 客户细分"),
    "tier": ("Value tier", "价值等级"),
    "value_rank": ("Value rank", "价值排名"),
    "expected_purchases": ("Expected purchases", "预计购买次数"),
    "p_alive": ("Probability still active", "仍活跃概率"),
    "expected_spend": ("Expected spend per purchase", "预计单次消费额"),
    "clv": ("Customer lifetime value (CLV)", "客户终身价值 (CLV)"),
    "historic_value": ("Historic value", "历史价值"),
    "total_customer_value": ("Total customer value", "顾客总价值"),
    "total_customer_cost": ("Total customer cost", "顾客总成本"),
    "delivered_value": ("Customer delivered value", "顾客让渡价值"),
    "delivered_value_ratio": ("Delivered value ratio", "让渡价值比"),
    "product_value": ("Product value", "产品价值"),
    "service_value": ("Service value", "服务价值"),
    "personnel_value": ("Personnel value", "人员价值"),
    "image_value": ("Image value", "形象价值"),
    "monetary_cost": ("Monetary cost", "货币成本"),
    "time_cost": ("Time cost", "时间成本"),
    "energy_cost": ("Energy cost", "精力成本"),
    "physical_cost": ("Physical cost", "体力成本"),
    "lifecycle_stage": ("Lifecycle stage", "生命周期阶段"),
    "churn_risk": ("Churn risk", "流失概率"),
    "churn_band": ("Churn risk band", "流失风险等级"),
    "expected_next_purchase": ("Expected next purchase", "预计下次购买日期"),
    "usual_gap_days": ("Usual gap (days)", "通常购买间隔 (天)"),
    "days_overdue": ("Days overdue", "逾期天数"),
    "value_at_risk": ("Value at risk", "流失风险金额"),
    "recent_revenue": ("Revenue, recent window", "近期窗口收入"),
    "previous_revenue": ("Revenue, previous window", "前期窗口收入"),
    "recent_days": ("Purchase days, recent window", "近期窗口购买天数"),
    "previous_days": ("Purchase days, previous window", "前期窗口购买天数"),
    "tier_before": ("Tier before", "之前等级"),
    "tier_after": ("Tier after", "现在等级"),
    "stage_before": ("Stage before", "之前阶段"),
    "stage_after": ("Stage after", "现在阶段"),
    "value_before": ("Value before", "之前价值"),
    "value_after": ("Value after", "现在价值"),
    "reason": ("What changed", "变化"),
    "group": ("Group", "分组"),
    "at_risk": ("Customers at risk", "风险客户数"),
    "top5_share": ("Revenue share of the group's top 5", "前 5 名客户收入占比"),
    NAME: ("Name", "客户名称"),
    REGION: ("Region", "区域"),
    SALESPERSON: ("Salesperson", "销售员"),
    CHANNEL: ("Channel", "渠道"),
    SIGNUP_DATE: ("Signup date", "注册日期"),
    PHONE: ("Phone", "电话"),
    EMAIL: ("Email", "邮箱"),
    PRODUCT: ("Product", "产品"),
    CATEGORY: ("Category", "品类"),
    # Market baskets: rules, itemsets, cross-sell and up-sell lists.
    "antecedent": ("If bought", "已购 (前项)"),
    "consequent": ("Then also", "同时购买 (后项)"),
    "antecedent_support": ("Antecedent support", "前项支持度"),
    "consequent_support": ("Consequent support", "后项支持度"),
    "support": ("Support", "支持度"),
    "confidence": ("Confidence", "置信度"),
    "lift": ("Lift", "提升度"),
    "leverage": ("Leverage", "杠杆度"),
    "conviction": ("Conviction", "确信度"),
    "baskets": ("Baskets", "购物篮数"),
    "itemset": ("Itemset", "商品组合"),
    "size": ("Items", "商品数"),
    "products_bought": ("Products bought", "已购产品数"),
    "categories_bought": ("Categories bought", "已购品类数"),
    "catalogue_share": ("Share of the catalogue bought", "已购产品占全部产品比例"),
    **{
        column.format(k=k): (english.format(k=k), chinese.format(k=k))
        for k in range(1, MAX_OFFERS + 1)
        for column, english, chinese in (
            ("offer_{k}", "Offer {k}", "推荐 {k}"),
            ("offer_{k}_rule", "Rule behind offer {k}", "推荐 {k} 的依据规则"),
            ("offer_{k}_confidence", "Confidence of offer {k}", "推荐 {k} 的置信度"),
            ("offer_{k}_value", "Expected value of offer {k}", "推荐 {k} 的预期价值"),
        )
    },
    "tier_typical_order": ("Typical average order of the tier", "该等级典型平均订单金额"),
    "order_gap": ("Gap to the tier's typical order", "与等级典型订单的差额"),
    "upsell_potential": ("Up-sell potential", "向上销售潜力"),
}
#: Summary field names, table headers and the other words the workbook shows.
SUMMARY_LABELS: Final[dict[str, tuple[str, str]]] = {
    "rows_read": ("Rows read", "读取行数"),
    "rows_used": ("Rows used", "使用行数"),
    "rows_dropped": ("Rows dropped", "剔除行数"),
    "dropped_by_reason": ("Rows dropped, by reason", "按原因剔除的行数"),
    "customers": ("Customers", "客户数"),
    "first_date": ("First transaction date", "最早交易日期"),
    "last_date": ("Last transaction date", "最晚交易日期"),
    "as_of": ("As-of date", "分析基准日"),
    "prospects": ("Prospects (no purchase yet)", "潜在客户数 (尚未购买)"),
    "rows_after_as_of": ("Rows after the as-of date (ignored)", "基准日之后的行数 (未计入)"),
    "period": ("Period", "数据期间"),
    "top20_revenue_share": ("Value share of the top 20% of customers", "前 20% 客户的价值占比"),
    "customers_for_80pct": ("Customers making 80% of value", "贡献 80% 价值的客户数"),
    "customers_for_80pct_share": ("Share of customers making 80% of value", "贡献 80% 价值的客户占比"),
    "gini": ("Gini coefficient (0 = equal, 1 = concentrated)", "基尼系数 (0 = 平均, 1 = 集中)"),
    "customer_share": ("Customer share", "客户占比"),
    "value_share": ("Value share", "价值占比"),
    "revenue": ("Revenue", "收入"),
    "revenue_share": ("Revenue share", "收入占比"),
    "average_value": ("Average value", "平均价值"),
    "stage": ("Stage", "阶段"),
    "band": ("Band", "等级"),
    "model": ("Model", "模型"),
    "time_unit": ("Time unit", "时间单位"),
    "params": ("Parameters", "参数"),
    "log_likelihood": ("Log-likelihood", "对数似然"),
    "n_customers": ("Customers fitted", "拟合客户数"),
    "converged": ("Converged", "是否收敛"),
    "gamma_gamma": ("Gamma-Gamma spend model", "Gamma-Gamma 消费模型"),
    "warnings": ("Warnings", "警告"),
    "day": ("day", "天"),
    "week": ("week", "周"),
    "month": ("month", "月"),
    "yes": ("Yes", "是"),
    "no": ("No", "否"),
    "item": ("Item", "项目"),
    "detail": ("Detail", "明细"),
    "value": ("Value", "数值"),
    "term": ("Term", "名称"),
    "key": ("Field", "字段名"),
    "meaning": ("Meaning", "含义"),
    "from_input": ("Taken as is from the input data.", "直接取自输入数据。"),
    "title": ("Customer analytics summary", "客户分析摘要"),
    "data": ("Data", "数据概况"),
    "tiers": ("Value tiers", "价值等级"),
    "pareto": ("80/20 concentration (Pareto)", "80/20 集中度 (帕累托)"),
    "top_customers": ("Top customers", "重点客户"),
    "model_fit": ("Model fit", "模型拟合"),
    "groups": ("Groups", "分组汇总"),
    "value_by_tier": ("Value by tier", "各等级价值"),
    "rules": ("Rules", "规则"),
    "concentration": ("Concentration", "集中度"),
    "from": ("From", "原"),
    "to": ("To", "现"),
    "section_data": ("Data", "数据概况"),
    "section_pareto": ("80/20 concentration (Pareto)", "80/20 集中度 (帕累托)"),
    "section_tiers": ("Value tiers", "价值等级"),
    "section_segments": ("RFM segments", "RFM 客户细分"),
    "section_lifecycle": ("Lifecycle stages", "生命周期阶段"),
    "section_churn": ("Churn risk", "流失风险"),
    "section_model": ("Model fit", "模型拟合"),
    "section_columns": ("Columns", "字段"),
    "section_bands": ("Churn risk bands", "流失风险等级"),
    "chart_pareto": ("Pareto curve: share of value by share of customers", "帕累托曲线：客户占比与价值占比"),
    "axis_customer_share": ("Share of customers (most valuable first)", "客户累计占比 (按价值从高到低)"),
    "axis_value_share": ("Share of value", "价值累计占比"),
    "pareto_curve": ("Pareto curve", "帕累托曲线"),
    "pareto_point_text": ("{share} of customers make 80% of value", "{share} 的客户贡献了 80% 的价值"),
    "equal_share": ("Equal share", "平均分布线"),
    "chart_tier_revenue": ("Revenue by value tier", "各价值等级收入"),
    "chart_lifecycle": ("Customers by lifecycle stage", "各生命周期阶段客户数"),
    "chart_data": ("Chart data", "图表数据"),
    "section_groups": ("By group", "分组汇总"),
    "section_cross_sell": ("Cross-sell", "交叉销售"),
    "notes": ("Notes", "附注"),
    "rule": ("Rule", "规则"),
    "order": ("Order checked", "判断顺序"),
    "input": ("Based on", "依据"),
    "before": ("Before", "之前"),
    "after": ("After", "之后"),
    "tier_migration": ("Tier migration", "等级迁移"),
    "stage_migration": ("Stage migration", "阶段迁移"),
    "fell": ("Fell", "等级下降"),
    "rose": ("Rose", "等级上升"),
    "worth_saving": ("Worth saving, by value at risk", "值得挽回的客户 (按风险金额)"),
    "dropped": ("Dropped", "剔除"),
    "file": ("File", "文件"),
    "note": ("Note", "备注"),
    "page_footer": ("Page &P of &N", "第 &P 页，共 &N 页"),
    # The value model (crmkit value / the Model fit section).
    "horizon": ("CLV horizon", "CLV 预测期"),
    "discount_rate": ("Annual discount rate", "年折现率"),
    "margin": ("Margin", "毛利率"),
    "margin_per_customer": (
        "Each customer's own margin (total margin / total revenue)",
        "按客户各自毛利率 (累计毛利 / 累计销售额)",
    ),
    "population_mean": ("Population mean spend", "总体平均消费额"),
    "spend_frequency_correlation": ("Spend-frequency correlation", "消费额与频率相关系数"),
    "prospects_without_model_values": ("Prospects without model values", "无模型值的潜在客户数"),
    # crmkit backtest.
    "calibration_end": ("Calibration end", "校准期结束"),
    "holdout_end": ("Holdout end", "验证期结束"),
    "holdout_length": ("Holdout length", "验证期长度"),
    "measure": ("Measure", "指标"),
    "actual": ("Actual", "实际"),
    "predicted": ("Predicted", "预测"),
    "mae": ("Mean absolute error", "平均绝对误差"),
    "rmse": ("Root mean squared error", "均方根误差"),
    "correlation": ("Correlation", "相关系数"),
    "p_alive_auc": ("AUC of P(alive) for buying again", "仍活跃概率预测复购的 AUC"),
    "top20_capture": ("Holdout spend of the top 20% by CLV", "CLV 前 20% 客户的验证期消费占比"),
}
SHEET_LABELS: Final[dict[str, tuple[str, str]]] = {
    "summary": ("Summary", "摘要"),
    "customers": ("Customers", "客户"),
    "platinum": ("Platinum", "铂金客户"),
    "gold": ("Gold", "黄金客户"),
    "iron": ("Iron", "铁客户"),
    "at_risk": ("At risk", "流失风险"),
    "data_quality": ("Data quality", "数据质量"),
    "definitions": ("Definitions", "说明"),
    "data": ("Data", "数据"),
    "tier_migration": ("Tier migration", "等级迁移"),
    "stage_migration": ("Stage migration", "阶段迁移"),
    "fell": ("Fell", "等级下降"),
    "rose": ("Rose", "等级上升"),
    "rules": ("Rules", "关联规则"),
    "itemsets": ("Itemsets", "频繁项集"),
    "cross_sell": ("Cross-sell", "交叉销售"),
    "upsell": ("Up-sell", "向上销售"),
}

#: Which columns hold which vocabulary (their values are labelled too).
VALUE_COLUMNS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "tier": TIER_LABELS,
    "lifecycle_stage": STAGE_LABELS,
    "churn_band": CHURN_BAND_LABELS,
    "segment": SEGMENT_LABELS,
    "model": MODEL_LABELS,
    # crmkit compare: the migration matrices' rows (from) and the lists of who fell and rose.
    "from": {**TIER_LABELS, **STAGE_LABELS, **MISSING_LABELS},
    "to": {**TIER_LABELS, **STAGE_LABELS, **MISSING_LABELS},
    "tier_before": {**TIER_LABELS, **MISSING_LABELS},
    "tier_after": {**TIER_LABELS, **MISSING_LABELS},
    "stage_before": {**STAGE_LABELS, **MISSING_LABELS},
    "stage_after": {**STAGE_LABELS, **MISSING_LABELS},
}
#: What the ``reason`` of a compare list calls the tier and the stage ("tier gold → iron; stage growth → decline").
REASON_SUBJECTS: Final[dict[str, tuple[str, str]]] = {"tier": ("Tier", "等级"), "stage": ("Stage", "阶段")}
#: Why ingest dropped a row (the data-quality sheet's details).
DROP_REASON_LABELS: Final[dict[str, tuple[str, str]]] = {
    REASON_ID: (REASON_ID, "客户编号为空"),
    REASON_DATE: (REASON_DATE, "下单日期缺失或无法识别"),
    REASON_AMOUNT: (REASON_AMOUNT, "金额缺失或不是数字"),
    REASON_REPEAT: (REASON_REPEAT, "重复的订单行"),
}
_VOCABULARY: Final = {**TIER_LABELS, **STAGE_LABELS, **CHURN_BAND_LABELS, **SEGMENT_LABELS, **MISSING_LABELS}
#: Lookup order: a vocabulary value first for label(), a column first for column_label().
_VALUE_FIRST: Final = {**SUMMARY_LABELS, **COLUMN_LABELS, **_VOCABULARY, **DROP_REASON_LABELS}
_COLUMN_FIRST: Final = {**_VOCABULARY, **SUMMARY_LABELS, **COLUMN_LABELS}

DEFINITIONS: Final[dict[str, tuple[str, str]]] = {
    CUSTOMER_ID: ("The customer's identifier as given in the input.", "输入数据中的客户编号。"),
    "first_purchase": ("Day of the first purchase.", "首次购买的日期。"),
    "last_purchase": ("Day of the most recent purchase up to the as-of date.", "截至分析基准日最近一次购买的日期。"),
    "n_orders": (
        "Number of distinct orders (purchase rows when there is no order number).",
        "不同订单的数量 (没有订单号时按购买记录计)。",
    ),
    "frequency": (
        "Repeat purchases: days with a purchase, minus the first one.",
        "重复购买次数：有购买的天数减去首次购买。",
    ),
    "recency": (
        "Time from the first to the last purchase, in the model's time unit.",
        "首次到最近一次购买的间隔，以模型时间单位计。",
    ),
    "T": (
        "Time from the first purchase to the as-of date, in the model's time unit.",
        "首次购买到分析基准日的时长，以模型时间单位计。",
    ),
    "days_since_last": ("Days from the last purchase to the as-of date.", "最近一次购买到分析基准日的天数。"),
    "total_revenue": ("All purchases minus returns up to the as-of date.", "截至分析基准日的购买金额减去退货金额。"),
    "total_margin": (
        "Revenue minus cost (or the given margin), summed over all orders.",
        "所有订单的销售额减成本 (或给定毛利) 之和。",
    ),
    "avg_order_value": ("Total revenue divided by the number of orders.", "累计销售额除以订单数。"),
    "monetary": (
        "Average spend per repeat purchase day (0 without repeat purchases).",
        "每个重复购买日的平均消费额 (无重复购买时为 0)。",
    ),
    "r_score": ("Recency score 1-5: 5 = bought most recently.", "最近度得分 1-5：5 表示最近购买。"),
    "f_score": ("Frequency score 1-5: 5 = buys most often.", "频率得分 1-5：5 表示购买最频繁。"),
    "m_score": ("Monetary score 1-5: 5 = spends the most.", "金额得分 1-5：5 表示消费最多。"),
    "rfm_score": ("The three scores side by side, e.g. 545.", "三个得分并列，例如 545。"),
    "segment": ("RFM segment named from the R, F and M scores.", "根据 R、F、M 得分划分的客户细分。"),
    "tier": ("Value tier from ranking customers by value (80/20 rule).", "按客户价值排序划分的等级 (80/20 法则)。"),
    "value_rank": ("Position by value: 1 = most valuable customer.", "按价值的排名：1 表示价值最高的客户。"),
    "expected_purchases": ("Purchases the model expects over the forecast horizon.", "模型预计在预测期内的购买次数。"),
    "p_alive": ("Model probability that the customer is still active.", "模型估计的客户仍然活跃的概率。"),
    "expected_spend": (
        "Expected spend per future purchase (Gamma-Gamma model).",
        "预计每次未来购买的消费额 (Gamma-Gamma 模型)。",
    ),
    "clv": (
        "Customer lifetime value: expected future value over the horizon, discounted.",
        "客户终身价值：预测期内预计的未来价值 (已折现)。",
    ),
    "historic_value": (
        "Value the customer has brought so far (revenue or margin).",
        "客户迄今带来的价值 (销售额或毛利)。",
    ),
    "total_customer_value": (
        "Product + service + personnel + image value the customer receives.",
        "顾客获得的产品、服务、人员和形象价值之和。",
    ),
    "total_customer_cost": (
        "Monetary + time + energy + physical cost the customer pays.",
        "顾客付出的货币、时间、精力和体力成本之和。",
    ),
    "delivered_value": (
        "Total customer value minus total customer cost (Kotler).",
        "顾客总价值减顾客总成本 (科特勒)。",
    ),
    "delivered_value_ratio": ("Total customer value divided by total customer cost.", "顾客总价值除以顾客总成本。"),
    "product_value": ("Value of the product to the customer.", "产品为顾客带来的价值。"),
    "service_value": ("Value of the service to the customer.", "服务为顾客带来的价值。"),
    "personnel_value": ("Value of the staff's expertise and care.", "员工专业能力和态度带来的价值。"),
    "image_value": ("Value of the brand and company image.", "品牌和企业形象带来的价值。"),
    "monetary_cost": ("Money the customer pays.", "顾客支付的货币。"),
    "time_cost": ("Time the customer spends to buy and use.", "顾客购买和使用所花的时间。"),
    "energy_cost": ("Mental effort the customer spends.", "顾客付出的精力。"),
    "physical_cost": ("Physical effort the customer spends.", "顾客付出的体力。"),
    "lifecycle_stage": (
        "Stage of the customer relationship (see the stages below).",
        "客户关系所处的阶段 (见下方各阶段)。",
    ),
    "churn_risk": ("Estimated probability that the customer has stopped buying.", "估计的客户已停止购买的概率。"),
    "churn_band": ("Churn risk grouped into low, medium and high.", "流失概率分为低、中、高三档。"),
    "expected_next_purchase": (
        "Day the next purchase is due from the customer's usual gap.",
        "按客户通常购买间隔推算的下次购买日期。",
    ),
    "usual_gap_days": ("The customer's typical number of days between purchases.", "客户两次购买之间的典型天数。"),
    "days_overdue": (
        "Days past the expected next purchase (0 when not yet due).",
        "超过预计下次购买日期的天数 (未到期为 0)。",
    ),
    "value_at_risk": (
        "Future value lost if the customer churns: value weighted by churn risk.",
        "客户流失将损失的未来价值：价值乘以流失概率。",
    ),
    "recent_revenue": (
        "Revenue in the recent window (the last 90 days by default).",
        "近期窗口 (默认最近 90 天) 的收入。",
    ),
    "previous_revenue": ("Revenue in the window just before the recent one.", "近期窗口之前同样长度窗口的收入。"),
    "recent_days": ("Days with a purchase in the recent window.", "近期窗口内有购买的天数。"),
    "previous_days": (
        "Days with a purchase in the window just before the recent one.",
        "近期窗口之前窗口内有购买的天数。",
    ),
    "tier_before": (
        "Value tier in the earlier snapshot (absent = not a customer then).",
        "之前快照中的价值等级 (未出现 = 当时还不是客户)。",
    ),
    "tier_after": (
        "Value tier in the later snapshot (absent = gone from the data).",
        "之后快照中的价值等级 (未出现 = 已不在数据中)。",
    ),
    "stage_before": ("Lifecycle stage in the earlier snapshot.", "之前快照中的生命周期阶段。"),
    "stage_after": ("Lifecycle stage in the later snapshot.", "之后快照中的生命周期阶段。"),
    "value_before": ("Total revenue up to the earlier snapshot.", "截至之前快照的累计销售额。"),
    "value_after": ("Total revenue up to the later snapshot.", "截至之后快照的累计销售额。"),
    "reason": ("Which tier or stage move put the customer on this list.", "客户因哪项等级或阶段变化列入此表。"),
    "group": ("The group the row sums up (salesperson, region, ...).", "该行汇总的分组 (销售员、区域等)。"),
    "customers": ("Buying customers in the group.", "组内有购买的客户数。"),
    "revenue": ("Total revenue of the group's customers.", "组内客户的累计销售额。"),
    "revenue_share": ("The group's share of all revenue.", "该组收入占全部收入的比例。"),
    "top5_share": (
        "Share of the group's revenue made by its 5 largest customers: high = depends on a few.",
        "组内前 5 名客户贡献的收入占比：越高越依赖少数客户。",
    ),
    "absent": (
        "Not in that snapshot: a new customer (before) or one gone from the data (after).",
        "不在该快照中：新客户 (之前) 或已不在数据中的客户 (之后)。",
    ),
    "(none)": ("Customers with no value in the grouping column.", "分组字段为空的客户。"),
    NAME: ("Customer name from the customer list.", "客户名单中的客户名称。"),
    REGION: ("Region from the data.", "数据中的区域。"),
    SALESPERSON: ("Salesperson responsible for the customer.", "负责该客户的销售员。"),
    CHANNEL: ("Sales channel.", "销售渠道。"),
    SIGNUP_DATE: ("Day the customer signed up.", "客户注册的日期。"),
    PHONE: ("Phone number from the customer list.", "客户名单中的电话。"),
    EMAIL: ("Email address from the customer list.", "客户名单中的邮箱。"),
    PRODUCT: ("Product as named in the data.", "数据中的产品名称。"),
    CATEGORY: ("Product category as named in the data.", "数据中的产品品类。"),
    "antecedent": (
        "What a basket holds for the rule to apply (items joined by +).",
        "规则成立的前提：购物篮中已有的商品 (以 + 连接)。",
    ),
    "consequent": ("What the rule says the basket also holds.", "规则推断购物篮中同时会有的商品。"),
    "antecedent_support": ("Share of baskets holding the antecedent.", "含前项的购物篮占比。"),
    "consequent_support": ("Share of baskets holding the consequent.", "含后项的购物篮占比。"),
    "support": ("Share of baskets holding both sides of the rule.", "同时含前项和后项的购物篮占比。"),
    "confidence": (
        "Of the baskets holding the antecedent, the share that also hold the consequent.",
        "含前项的购物篮中同时含后项的比例。",
    ),
    "lift": (
        "Confidence divided by the consequent's support: above 1, the antecedent makes the consequent likelier.",
        "置信度除以后项支持度：大于 1 表示前项使后项更可能出现。",
    ),
    "leverage": (
        "Support minus the support expected if both sides were independent.",
        "支持度减去两边相互独立时应有的支持度。",
    ),
    "conviction": (
        "(1 − consequent support) / (1 − confidence): how much more often the rule holds than chance; "
        "empty when it always holds.",
        "(1 − 后项支持度) / (1 − 置信度)：规则比随机更常成立的程度；规则总成立时为空。",
    ),
    "baskets": ("Baskets holding every item of the rule or itemset.", "含规则或组合全部商品的购物篮数。"),
    "itemset": ("Items bought together (joined by +).", "一起购买的商品 (以 + 连接)。"),
    "size": ("How many items the itemset has.", "组合中的商品数。"),
    "products_bought": (
        "Distinct products the customer bought (returns aside).",
        "客户购买过的不同产品数 (不计退货)。",
    ),
    "categories_bought": ("Distinct categories the customer bought.", "客户购买过的不同品类数。"),
    "catalogue_share": (
        "Products bought as a share of every product sold in the data.",
        "已购产品数占数据中全部在售产品数的比例。",
    ),
    **{
        column.format(k=k): (english.format(k=k), chinese.format(k=k))
        for k in range(1, MAX_OFFERS + 1)
        for column, english, chinese in (
            (
                "offer_{k}",
                "Next-best item number {k} the customer has not bought, by expected value.",
                "按预期价值排第 {k} 的推荐商品 (客户尚未购买)。",
            ),
            (
                "offer_{k}_rule",
                "The rule behind offer {k}: what the customer bought → the offer.",
                "推荐 {k} 的依据规则：客户已购商品 → 推荐商品。",
            ),
            ("offer_{k}_confidence", "Confidence of the rule behind offer {k}.", "推荐 {k} 依据规则的置信度。"),
            (
                "offer_{k}_value",
                "Expected value of offer {k}: confidence × the item's typical spend per order (median).",
                "推荐 {k} 的预期价值：置信度 × 该商品每单的典型消费额 (中位数)。",
            ),
        )
    },
    "tier_typical_order": (
        "Median average order value of the tier's buying customers.",
        "该等级有购买客户平均订单金额的中位数。",
    ),
    "order_gap": (
        "The tier's typical order minus the customer's average order.",
        "等级典型订单金额减去客户平均订单金额。",
    ),
    "upsell_potential": (
        "The gap times the customer's orders: what their orders would have added at the tier's typical order.",
        "差额乘以客户订单数：若订单达到等级典型水平可增加的收入。",
    ),
    "platinum": ("The most valuable customers: by default the top 5% by value.", "价值最高的客户：默认为价值前 5%。"),
    "gold": ("The next most valuable customers: by default the next 15%.", "价值次高的客户：默认为其后的 15%。"),
    "iron": ("Customers who bought but are neither platinum nor gold.", "有购买但不属于铂金或黄金的客户。"),
    "prospect": ("In the customer list but no purchase yet.", "在客户名单中但尚未购买。"),
    "acquisition": (
        "Not bought yet (prospect) or bought on one day only: the relationship is being built.",
        "尚未购买 (潜在客户) 或只在一天购买过：正在建立关系。",
    ),
    "growth": ("Buying more often or more than before: the relationship is growing.", "购买更频繁或更多：关系在发展。"),
    "maturity": ("Buying steadily at a stable level: the most valuable phase.", "稳定持续购买：最有价值的阶段。"),
    "decline": (
        "Buying less or later than usual: act before the customer leaves.",
        "购买减少或推迟：需在客户离开前采取行动。",
    ),
    "termination": (
        "No purchase for far longer than usual: the customer has most likely left.",
        "远超通常间隔未购买：客户很可能已流失。",
    ),
    "low": ("Low churn risk: the customer is most likely still active.", "流失风险低：客户很可能仍然活跃。"),
    "medium": ("Medium churn risk: worth a check-in.", "流失风险中等：值得联系跟进。"),
    "high": (
        "High churn risk: contact first, starting with the largest value at risk.",
        "流失风险高：优先联系，从流失风险金额最大的客户开始。",
    ),
    "champions": ("Bought recently, buy often and spend the most.", "最近购买、购买频繁且消费最多。"),
    "loyal": ("Buy regularly and spend well.", "经常购买且消费可观。"),
    "potential_loyalist": (
        "Recent customers with average frequency: could become loyal.",
        "近期客户，频率中等：有望成为忠诚客户。",
    ),
    "new": ("Bought very recently, but only once or twice.", "最近刚购买，但只购买过一两次。"),
    "promising": ("Recent buyers who have not bought much yet.", "近期购买但购买尚少。"),
    "need_attention": (
        "Average recency, frequency and spend, not bought very recently.",
        "最近度、频率和金额中等，近期未购买。",
    ),
    "about_to_sleep": (
        "Below-average recency and frequency: will be lost without reactivation.",
        "最近度和频率低于平均：不激活将会流失。",
    ),
    "at_risk": (
        "Used to buy often and spend well, but not for a long time.",
        "曾经购买频繁且消费可观，但已很久未购买。",
    ),
    "cant_lose_them": (
        "Were among the best customers but have not bought for a long time.",
        "曾是最好的客户之一，但已很久未购买。",
    ),
    "hibernating": ("Last purchase long ago, few orders and low spend.", "很久以前购买，订单少且消费低。"),
    "lost": ("Lowest recency, frequency and spend.", "最近度、频率和金额都最低。"),
    "important_value": (
        "Recent, frequent and high spend (all above average).",
        "近期购买、频繁且消费高 (均高于平均)。",
    ),
    "important_development": (
        "Recent and high spend but infrequent: raise purchase frequency.",
        "近期购买且消费高但不频繁：提高购买频率。",
    ),
    "important_retention": (
        "Frequent and high spend but not recent: reconnect soon.",
        "频繁且消费高但近期未购买：尽快联系。",
    ),
    "important_winback": (
        "High spend but neither recent nor frequent: win back.",
        "消费高但近期未购买且不频繁：需挽回。",
    ),
    "general_value": ("Recent and frequent but low spend.", "近期购买且频繁但消费低。"),
    "general_development": ("Recent but infrequent and low spend.", "近期购买但不频繁且消费低。"),
    "general_retention": ("Frequent but not recent and low spend.", "购买频繁但近期未购买且消费低。"),
    "general_winback": ("Not recent, infrequent and low spend.", "近期未购买、不频繁且消费低。"),
}


#: Meanings of columns whose name is also a vocabulary value (the per-group rollup's counts).
COLUMN_DEFINITIONS: Final[dict[str, tuple[str, str]]] = {
    "at_risk": ("Customers of the group in the decline or termination stage.", "组内处于衰退期或终止期的客户数。"),
    "platinum": ("Platinum customers in the group.", "组内铂金客户数。"),
    "gold": ("Gold customers in the group.", "组内黄金客户数。"),
}


def label(key: str, lang: str) -> str:
    """The label of any vocabulary value, column or summary field; unknown keys pass through."""
    pair = _VALUE_FIRST.get(key)
    return pair[check_lang(lang)] if pair else _passthrough(key, lang)


def column_label(col: str, lang: str) -> str:
    """The header shown for a column (or a summary field); unknown names pass through as they are.

    Columns named after a vocabulary value (a migration matrix's ``gold``) get that value's label.
    """
    pair = _COLUMN_FIRST.get(col)
    return pair[check_lang(lang)] if pair else _passthrough(col, lang)


def value_label(col: str, value: str, lang: str) -> str:
    """The label of ``value`` in a vocabulary column (tier, lifecycle_stage, ...); other values pass through."""
    pair = VALUE_COLUMNS.get(col, {}).get(value)
    return pair[check_lang(lang)] if pair else _passthrough(value, lang)


def sheet_name(key: str, lang: str) -> str:
    """The workbook sheet name for ``key`` (summary, customers, platinum, ...)."""
    pair = SHEET_LABELS.get(key)
    return pair[check_lang(lang)] if pair else _passthrough(key, lang)


def definition(col_or_stage: str, lang: str) -> str:
    """One-line meaning of a column or vocabulary value; ``""`` when crmkit has none."""
    pair = DEFINITIONS.get(col_or_stage)
    return pair[check_lang(lang)] if pair else _passthrough("", lang)


def column_definition(col: str, lang: str) -> str:
    """One-line meaning of a column: its own where its name is also a vocabulary value, else :func:`definition`."""
    pair = COLUMN_DEFINITIONS.get(col)
    return pair[check_lang(lang)] if pair else definition(col, lang)


def reason_label(reason: str, lang: str) -> str:
    """A compare list's reason ("tier gold → iron; stage growth → decline") in ``lang``; other text passes through."""
    index = check_lang(lang)
    parts = []
    for part in reason.split("; "):
        subject, _, move = part.partition(" ")
        vocabulary = VALUE_COLUMNS.get(f"{subject}_before")
        steps = move.split(" → ")
        if subject not in REASON_SUBJECTS or vocabulary is None or len(steps) != 2:
            return reason
        shown = " → ".join(vocabulary[step][index] if step in vocabulary else step for step in steps)
        parts.append(f"{REASON_SUBJECTS[subject][index]} {shown}")
    return ("；" if lang == "zh" else "; ").join(parts)


def localise_frame(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy with labelled headers and labelled values in the vocabulary columns.

    Values a vocabulary does not know (and missing values) are kept as they are.
    """
    index = check_lang(lang)
    out = df.copy()
    for col, vocabulary in VALUE_COLUMNS.items():
        if col in out.columns:
            mapping = {key: pair[index] for key, pair in vocabulary.items()}
            values = out[col]
            if isinstance(values.dtype, pd.CategoricalDtype):
                out[col] = values.cat.rename_categories(lambda c, names=mapping: names.get(c, c))
            else:
                labelled = values.map(mapping)
                out[col] = labelled.where(labelled.notna(), values)
    if "reason" in out.columns:
        # Few distinct reasons, many rows: label each distinct text once.
        reasons = out["reason"].astype("str")
        distinct = reasons.dropna().unique()
        out["reason"] = reasons.map({text: reason_label(text, lang) for text in distinct})
    out.columns = [column_label(str(col), lang) for col in out.columns]
    return out


def _passthrough(text: str, lang: str) -> str:
    check_lang(lang)
    return text


#: The rule table's wording per language; numbers are filled in from the rules in force.
RULE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "trend": "with at least {n} purchase day(s) across the last {w2} days",
        "median_cycle": "the median usual gap of repeat buyers",
        "fixed_cycle": "{d} days",
        "termination": "bought before, and no purchase for more than {tf} × the usual gap, "
        "or P(alive) below {p} while past the usual gap",
        "decline": "no purchase for more than {of} × the usual gap, or revenue or purchase days in the last {w} "
        "days at most {dr} × the {w} days before ({trend})",
        "acquisition": "never bought (prospect), or bought on one day only; their usual gap is {cycle}",
        "growth": "revenue or purchase days in the last {w} days at least {gr} × the {w} days before ({trend})",
        "maturity": "everyone else: buying steadily at their own usual gap",
    },
    "zh": {
        "trend": "近 {w2} 天内至少 {n} 个购买日",
        "median_cycle": "复购客户常规间隔的中位数",
        "fixed_cycle": "{d} 天",
        "termination": "曾购买，且超过 {tf} 倍常规间隔未再购买；或已过常规间隔且存活概率 P(alive) 低于 {p}",
        "decline": "超过 {of} 倍常规间隔未购买；或近 {w} 天的收入或购买天数不高于前 {w} 天的 {dr} 倍（{trend}）",
        "acquisition": "从未购买（潜在客户），或只在一天购买过；其常规间隔取{cycle}",
        "growth": "近 {w} 天的收入或购买天数至少为前 {w} 天的 {gr} 倍（{trend}）",
        "maturity": "其他客户：按自身常规间隔稳定购买",
    },
}


def explain_rules(rules: LifecycleRules = DEFAULT_RULES, *, lang: str = "en") -> pd.DataFrame:
    """The stage rules with the thresholds in use: *stage, rule, order* (1 = checked first), in ``lang``."""
    if lang not in RULE_TEXT:
        raise OptionError(f"unknown language {lang!r}; choose one of {', '.join(RULE_TEXT)}")
    words = RULE_TEXT[lang]
    numbers = {
        "w": f"{rules.window_days:g}",
        "w2": f"{2 * rules.window_days:g}",
        "n": rules.min_purchases_for_trend,
        "tf": f"{rules.termination_factor:g}",
        "p": f"{rules.termination_p_alive:g}",
        "of": f"{rules.overdue_factor:g}",
        "dr": f"{rules.decline_ratio:g}",
        "gr": f"{rules.growth_ratio:g}",
    }
    numbers["trend"] = words["trend"].format(**numbers)
    numbers["cycle"] = (
        words["median_cycle"]
        if rules.new_customer_cycle_days is None
        else words["fixed_cycle"].format(d=f"{rules.new_customer_cycle_days:g}")
    )
    text = {stage: words[stage].format(**numbers) for stage in STAGE_PRECEDENCE}
    return pd.DataFrame(
        {
            "stage": list(STAGE_PRECEDENCE),
            "rule": [text[stage] for stage in STAGE_PRECEDENCE],
            "order": np.arange(1, len(STAGE_PRECEDENCE) + 1),
        }
    )


#: Short headers for the terminal, where a table has many columns; other keys use :func:`column_label`.
SHORT_LABELS: Final[dict[str, tuple[str, str]]] = {
    CUSTOMER_ID: ("Customer", "客户编号"),
    "tier": ("Tier", "等级"),
    "lifecycle_stage": ("Stage", "阶段"),
    "churn_band": ("Churn", "流失风险"),
    "segment": ("Segment", "客户细分"),
    "total_revenue": ("Revenue", "销售额"),
    "revenue": ("Revenue", "收入"),
    "n_orders": ("Orders", "订单数"),
    "clv": ("CLV", "CLV"),
    "frequency": ("Repeats", "复购次数"),
    "p_alive": ("P(alive)", "活跃概率"),
    "expected_purchases": ("Exp. buys", "预计购买"),
    "expected_spend": ("Per buy", "单次消费"),
    "historic_value": ("Historic", "历史价值"),
    "last_purchase": ("Last buy", "最近购买"),
    "usual_gap_days": ("Gap (d)", "间隔天数"),
    "days_overdue": ("Overdue", "逾期天数"),
    "churn_risk": ("Risk", "流失概率"),
    "value_at_risk": ("At stake", "风险金额"),
    SALESPERSON: ("Sales rep", "销售员"),
    REGION: ("Region", "区域"),
    "name": ("Name", "客户名称"),
    "customers": ("Customers", "客户数"),
    "customer_share": ("Cust. %", "客户占比"),
    "revenue_share": ("Rev. %", "收入占比"),
    "average_value": ("Average", "平均价值"),
    "at_risk": ("At risk", "风险客户"),
    "top5_share": ("Top-5 %", "前5占比"),
    "rule": ("Rule", "规则"),
    "input": ("Based on", "依据"),
    "order": ("#", "#"),
    "absent": ("Absent", "未出现"),
    "before": ("Before", "之前"),
    "after": ("After", "之后"),
    "fell": ("Fell", "下降"),
    "rose": ("Rose", "上升"),
    "left_out": ("Left out to fit the terminal width: {columns}", "为适应终端宽度未显示：{columns}"),
    "antecedent": ("If bought", "已购"),
    "consequent": ("Then also", "同时购买"),
    "support": ("Support", "支持度"),
    "confidence": ("Conf.", "置信度"),
    "lift": ("Lift", "提升度"),
    "leverage": ("Leverage", "杠杆度"),
    "conviction": ("Conviction", "确信度"),
    "baskets": ("Baskets", "篮数"),
    "products_bought": ("Products", "产品数"),
    "offer_1": ("Offer", "推荐"),
    "offer_1_rule": ("Because", "依据规则"),
    "offer_1_confidence": ("Conf.", "置信度"),
    "offer_1_value": ("Exp. value", "预期价值"),
    "avg_order_value": ("Avg order", "平均订单"),
    "tier_typical_order": ("Tier typical", "等级典型"),
    "order_gap": ("Gap", "差额"),
    "upsell_potential": ("Potential", "潜力"),
    "worth_saving": ("Worth saving, by value at risk", "值得挽回的客户 (按风险金额)"),
}


def short_label(key: str, lang: str) -> str:
    """The terminal header for ``key``: a short form when there is one, else its usual label."""
    pair = SHORT_LABELS.get(key)
    return pair[check_lang(lang)] if pair else column_label(key, lang)


BACKTEST_WORDS: Final = {
    "period": (
        "calibration to {c}, holdout to {h} ({n} {unit}s{customers})",
        "校准期至 {c}，验证期至 {h}（{n} {unit}{customers}）",
    ),
    "customers": (", {n:,} customers", "，{n:,} 位客户"),
    "models": ("models", "模型"),
    "measure": ("measure", "指标"),
    "by_frequency": (
        "mean repeat purchases in the holdout, by calibration frequency",
        "验证期平均复购次数（按校准期复购次数分组）",
    ),
    "frequency": ("frequency", "复购次数"),
    "customers_column": ("customers", "客户数"),
    "actual": ("actual", "实际"),
}


UNIT_WORDS: Final = {"day": "天", "week": "周", "month": "个月"}


#: What `crmkit basket` prints around its tables; numbers are filled in.
BASKET_WORDS: Final = {
    "title": ("Market baskets", "购物篮分析"),
    "baskets": ("Baskets", "购物篮"),
    "by_order": ("{n:,} orders", "{n:,} 个订单"),
    "by_customer": ("{n:,} customers", "{n:,} 位客户"),
    "items": ("Items", "商品"),
    "product": ("{n:,} products", "{n:,} 种产品"),
    "category": ("{n:,} categories", "{n:,} 个品类"),
    "lines_used": ("Order lines with an item", "有商品的订单行"),
    "min_support": ("Minimum support", "最小支持度"),
    "min_support_value": ("{share} ({n:,} baskets)", "{share} ({n:,} 个购物篮)"),
    "itemsets": ("Frequent itemsets (up to {k} items)", "频繁项集 (最多 {k} 个商品)"),
    "itemsets_any": ("Frequent itemsets", "频繁项集"),
    "rules": ("Rules (confidence ≥ {c}, lift ≥ {l})", "关联规则 (置信度 ≥ {c}，提升度 ≥ {l})"),
    "strongest": ("Strongest rules, by lift ({n:,} / {total:,})", "最强关联规则，按提升度 ({n:,} / {total:,})"),
    "offers": (
        "Next-best offers: expected value = confidence × typical spend ({n:,} / {total:,})",
        "下一步推荐：预期价值 = 置信度 × 典型消费额 ({n:,} / {total:,})",
    ),
    "upsell": (
        "Up-sell: average order below {share} of the tier's typical ({n:,} / {total:,})",
        "向上销售：平均订单低于等级典型水平的 {share} ({n:,} / {total:,})",
    ),
}
