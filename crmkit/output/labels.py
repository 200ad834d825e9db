"""English and Chinese labels and one-line definitions for everything a person reads.

Machine formats (CSV, Parquet, JSON) keep the canonical English keys from
:mod:`crmkit.schema`; only the workbook and the terminal show these labels.
Each table maps a canonical key to ``(english, chinese)``. Keys that no table
knows (a column from the user's own file) pass through unchanged.
"""

from __future__ import annotations

import re
from functools import partial
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
    REASON_DATE_RANGE,
    REASON_FIELDS,
    REASON_ID,
    REASON_REPEAT,
    REASON_STATUS,
    REASON_TOTALS,
    REGION,
    SALESPERSON,
    SIGNUP_DATE,
    check_lang,
)
from crmkit.scoring.actions import CONDITIONS, DEFAULT_ACTIONS, ActionRules
from crmkit.scoring.basket import MAX_OFFERS
from crmkit.scoring.lifecycle import DEFAULT_RULES, STAGE_PRECEDENCE, LifecycleRules
from crmkit.scoring.retention import YEARS_OF_T, WhatIf

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
ACTION_LABELS: Final[dict[str, tuple[str, str]]] = {
    "win_back": ("Win back", "挽回"),
    "retain": ("Retain", "挽留"),
    "develop": ("Develop", "发展"),
    "maintain": ("Maintain", "维持"),
    "let_go": ("Let go", "放弃跟进"),
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
    "value_if_active": ("Value if they stay", "留存价值"),
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
    "next_action": ("Next action", "下一步行动"),
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
    # crmkit retention: the period table and the cohorts.
    "complete": ("Period over", "期间已结束"),
    "active": ("Active customers", "活跃客户数"),
    "new": ("New customers", "新客户数"),
    "returning": ("Returning customers", "留存客户数"),
    "reactivated": ("Won back", "召回客户数"),
    "lost": ("Lost customers", "流失客户数"),
    "churn_rate": ("Churn rate", "客户流失率"),
    "retention_rate": ("Retention rate", "客户留存率"),
    "repeat_purchase_rate": ("Repeat-purchase rate", "复购率"),
    "revenue_new": ("Revenue from new customers", "新客户收入"),
    "revenue_returning": ("Revenue from returning customers", "留存客户收入"),
    "revenue_reactivated": ("Revenue from won-back customers", "召回客户收入"),
    "net_revenue_retention": ("Net revenue retention", "净收入留存率"),
    "cohort": ("Cohort (first purchase)", "同期群 (首次购买期)"),
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
    "skipped_files": ("Files not read", "未读取的文件"),
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
    "tier_by": ("Tiers ranked by", "等级划分依据"),
    "profit": ("Profit", "利润"),
    "delivered_by_tier": ("Delivered value by tier (averages)", "各等级顾客让渡价值 (平均)"),
    "delivered_by_stage": ("Delivered value by stage (averages)", "各阶段顾客让渡价值 (平均)"),
    "component": ("Component", "构成"),
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
    "section_actions": ("Next actions", "下一步行动"),
    "section_action_rules": (
        "Next-action rules (the first that matches wins)",
        "下一步行动规则 (按顺序，先匹配者为准)",
    ),
    "action": ("Action", "行动"),
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
    "lost_key_accounts": ("Lost key accounts, by historic profit", "正在流失的重点客户 (按历史利润)"),
    "dropped": ("Dropped", "剔除"),
    "excluded_orders": ("Orders excluded by status", "按状态剔除的订单"),
    "orders_counted": ("Orders counted as", "订单计数方式"),
    "revenue_basis": ("Revenue", "销售额口径"),
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
    # Retention (crmkit retention, and the segment summary's latest period).
    "section_retention": ("Retention", "客户留存"),
    "section_what_if": ("What if retention were higher", "若留存率提高"),
    "partial_period": ("Period still running at the as-of date", "截至基准日尚未结束的期间"),
    "period_type": ("Counted per", "统计周期"),
    "quarter": ("quarter", "季度"),
    "year": ("year", "年"),
    "chart_retention_curve": (
        "Retention curve: share of each cohort still active",
        "留存曲线：各同期群仍活跃的客户占比",
    ),
    "axis_periods_since": ("Periods since the first purchase", "首次购买后的期数"),
    "axis_share_active": ("Share of the cohort active", "同期群活跃占比"),
    "cohort_customers": ("Cohorts: customers", "同期群：客户"),
    "cohort_revenue": ("Cohorts: revenue", "同期群：收入"),
    "periods": ("Periods", "各期"),
    "definitions_retention": ("Retention measures", "留存指标"),
}
SHEET_LABELS: Final[dict[str, tuple[str, str]]] = {
    "summary": ("Summary", "摘要"),
    "customers": ("Customers", "客户"),
    "top_customers": ("Top customers", "重点客户"),
    "platinum": ("Platinum", "铂金客户"),
    "gold": ("Gold", "黄金客户"),
    "iron": ("Iron", "铁客户"),
    "at_risk": ("At risk", "流失风险"),
    "lost_key_accounts": ("Lost key accounts", "流失中的重点客户"),
    "data_quality": ("Data quality", "数据质量"),
    "definitions": ("Definitions", "说明"),
    "data": ("Data", "数据"),
    "tier_migration": ("Tier migration", "等级迁移"),
    "stage_migration": ("Stage migration", "阶段迁移"),
    "fell": ("Fell", "等级下降"),
    "rose": ("Rose", "等级上升"),
    "periods": ("Periods", "各期留存"),
    "cohort_customers": ("Cohorts", "同期群"),
    "cohort_revenue": ("Cohort revenue", "同期群收入"),
    "groups": ("By group", "分组"),
    "what_if": ("What if", "若留存率提高"),
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
    "next_action": ACTION_LABELS,
    "segment": SEGMENT_LABELS,
    "model": MODEL_LABELS,
    # crmkit compare: the migration matrices' rows (from) and the lists of who fell and rose.
    "from": {**TIER_LABELS, **STAGE_LABELS, **MISSING_LABELS},
    "to": {**TIER_LABELS, **STAGE_LABELS, **MISSING_LABELS},
    "tier_before": {**TIER_LABELS, **MISSING_LABELS},
    "tier_after": {**TIER_LABELS, **MISSING_LABELS},
    "stage_before": {**STAGE_LABELS, **MISSING_LABELS},
    "stage_after": {**STAGE_LABELS, **MISSING_LABELS},
    # crmkit retention: the pooled row of the cohort tables.
    "cohort": {"all": ("All cohorts", "全部同期群")},
}
#: What the ``reason`` of a compare list calls the tier and the stage ("tier gold → iron; stage growth → decline").
REASON_SUBJECTS: Final[dict[str, tuple[str, str]]] = {"tier": ("Tier", "等级"), "stage": ("Stage", "阶段")}
#: Why ingest dropped a row (the data-quality sheet's details).
DROP_REASON_LABELS: Final[dict[str, tuple[str, str]]] = {
    REASON_ID: (REASON_ID, "客户编号为空"),
    REASON_DATE: (REASON_DATE, "下单日期缺失或无法识别"),
    REASON_AMOUNT: (REASON_AMOUNT, "金额缺失或不是数字"),
    REASON_REPEAT: (REASON_REPEAT, "重复的订单行"),
    REASON_DATE_RANGE: (REASON_DATE_RANGE, "下单日期超出范围 (1900–2199 年)"),
    REASON_STATUS: (REASON_STATUS, "订单状态不计收入 (取消、未付款或已退款)"),
    REASON_TOTALS: (REASON_TOTALS, "合计行"),
    REASON_FIELDS: (REASON_FIELDS, "字段数与表头不符"),
}
_VOCABULARY: Final = {
    **TIER_LABELS,
    **STAGE_LABELS,
    **CHURN_BAND_LABELS,
    **ACTION_LABELS,
    **SEGMENT_LABELS,
    **MISSING_LABELS,
}
#: Lookup order: a vocabulary value first for label(), a column first for column_label().
_VALUE_FIRST: Final = {**SUMMARY_LABELS, **COLUMN_LABELS, **_VOCABULARY, **DROP_REASON_LABELS}
_COLUMN_FIRST: Final = {**_VOCABULARY, **SUMMARY_LABELS, **COLUMN_LABELS}

DEFINITIONS: Final[dict[str, tuple[str, str]]] = {
    CUSTOMER_ID: ("The customer's identifier as given in the input.", "输入数据中的客户编号。"),
    "first_purchase": ("Day of the first purchase.", "首次购买的日期。"),
    "last_purchase": ("Day of the most recent purchase up to the as-of date.", "截至分析基准日最近一次购买的日期。"),
    "n_orders": (
        "Number of distinct orders (purchase days when there is no order number).",
        "不同订单的数量 (没有订单号时按购买天数计)。",
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
    "segment": (
        "RFM segment named from the R, F and M scores: it ranks the customer against the other customers.",
        "根据 R、F、M 得分划分的客户细分：与其他客户相比的排名。",
    ),
    "tier": ("Value tier from ranking customers by value (80/20 rule).", "按客户价值排序划分的等级 (80/20 法则)。"),
    "value_rank": ("Position by value: 1 = most valuable customer.", "按价值的排名：1 表示价值最高的客户。"),
    "expected_purchases": ("Purchases the model expects over the forecast horizon.", "模型预计在预测期内的购买次数。"),
    "p_alive": ("Model probability that the customer is still active.", "模型估计的客户仍然活跃的概率。"),
    "expected_spend": (
        "Expected spend per future purchase (Gamma-Gamma model).",
        "预计每次未来购买的消费额 (Gamma-Gamma 模型)。",
    ),
    "clv": (
        "Customer lifetime value: expected value over the horizon, discounted (margin × expected spend × expected "
        "purchases, which allow for the chance that the customer has already left: CLV = value if they stay × "
        "P(alive)).",
        "客户终身价值：预测期内预计的未来价值，已折现 (毛利率 × 预计单次消费额 × 预计购买次数；已计入客户可能已流失，"
        "CLV = 留存价值 × 仍活跃概率)。",
    ),
    "value_if_active": (
        "Expected value over the horizon if the customer is still active, discounted like CLV: what they bring if "
        "they stay, and lose if they go. Without a purchase model: value so far per day since the first purchase "
        "(counting at least the horizon) over the horizon.",
        "若客户仍活跃，预测期内预计带来的价值，与 CLV 同样折现：留住客户可得、失去客户即损失的价值。无购买模型时："
        "首次购买以来 (至少按预测期计) 的日均价值 × 预测期。",
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
        "Stage of the customer relationship (see the stages below), measured against the customer's own rhythm.",
        "客户关系所处的阶段 (见下方各阶段)，以客户自身的购买节奏衡量。",
    ),
    "next_action": (
        "What to do next, in one word, from the tier, lifecycle stage and churn risk (rules below). RFM segments "
        "rank a customer against the others, stages measure them against their own rhythm: a Champions customer "
        "can be in decline, and the next action settles what to do about it.",
        "下一步做什么，一个词：由价值等级、生命周期阶段和流失风险按下方规则得出。RFM 细分是与其他客户比较的排名，"
        "生命周期阶段是与客户自身节奏的比较：冠军客户也可能处于衰退期，下一步行动给出该如何处理。",
    ),
    "win_back": (
        "A key account (platinum or gold) that has most likely left: call, find out why, make an offer.",
        "很可能已流失的重点客户 (铂金或黄金)：主动联系，了解原因，提出挽回方案。",
    ),
    "retain": (
        "Slipping (declining, or at medium or high churn risk): contact before they leave, largest value at risk "
        "first.",
        "正在流失 (衰退期，或流失风险为中、高)：在客户离开前联系，先从风险金额最大的客户开始。",
    ),
    "develop": (
        "New or growing: encourage the next purchase, offer more.",
        "新客户或成长中的客户：促成下次购买，推荐更多。",
    ),
    "maintain": (
        "Buying steadily at their own rhythm at low risk: keep the service level.",
        "按自身节奏稳定购买且风险低：保持服务水平。",
    ),
    "let_go": (
        "Not a key account and most likely gone: low-cost automated contact only.",
        "非重点客户且很可能已流失：仅保留低成本的自动化触达。",
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
        "What is lost if the customer has gone: value if they stay × churn risk. Ranks the customers worth saving.",
        "客户若已流失将损失的价值：留存价值 × 流失概率，用于排序值得挽回的客户。",
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
    # crmkit retention (defined per period).
    "complete": (
        "Whether the period ended by the as-of date; a period still running has had less time for purchases, so "
        "its churn is overstated.",
        "该期是否在分析基准日前结束；尚未结束的期间购买时间不足，流失率偏高。",
    ),
    "active": (
        "Customers with at least one purchase in the period; returns (negative amounts) are not purchases.",
        "该期至少购买一次的客户数；退货 (负金额) 不算购买。",
    ),
    "returning": ("Customers active in this period and in the previous one.", "本期和上一期都活跃的客户数。"),
    "reactivated": (
        "Customers active in this period, not in the previous one, but in an earlier one: won back.",
        "本期活跃、上一期未购买、但更早购买过的客户数：被召回的客户。",
    ),
    "churn_rate": (
        "Lost customers ÷ customers active in the previous period (客户流失率).",
        "流失客户数 ÷ 上一期活跃客户数。",
    ),
    "retention_rate": (
        "1 − churn rate: the share of the previous period's active customers who bought again in this one.",
        "1 − 客户流失率：上一期活跃客户中本期再次购买的比例。",
    ),
    "repeat_purchase_rate": (
        "Share of the period's active customers who bought on at least two days in it (复购率).",
        "该期活跃客户中至少在两天购买的比例。",
    ),
    "revenue_new": ("Net revenue in the period from its new customers.", "该期新客户的净收入。"),
    "revenue_returning": ("Net revenue in the period from its returning customers.", "该期留存客户的净收入。"),
    "revenue_reactivated": ("Net revenue in the period from its won-back customers.", "该期召回客户的净收入。"),
    "net_revenue_retention": (
        "Net revenue in this period from the customers active in the previous one ÷ their net revenue in the "
        "previous one: above 100% they spent more than before.",
        "上一期活跃客户在本期的净收入 ÷ 他们上一期的净收入：高于 100% 表示他们花得比以前多。",
    ),
    "cohort": (
        "Customers whose first purchase fell in the same period; column k is the share of them (or of their "
        "first period's revenue) active k periods later.",
        "首次购买在同一期的客户；第 k 列是其中 k 期后仍活跃的客户占比 (或收入占首期收入的比例)。",
    ),
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
    "new": (
        "Customers whose first purchase in the data falls in the period.",
        "在该期首次购买 (以数据为准) 的客户数。",
    ),
    "lost": (
        "Customers active in the previous period and not in this one.",
        "上一期活跃、本期未购买的客户数。",
    ),
}

#: Meanings of the retention measures whose names mean something else elsewhere (``revenue`` of a group,
#: ``new`` and ``lost`` segments): the retention report and the Definitions sheet use these first.
RETENTION_DEFINITIONS: Final[dict[str, tuple[str, str]]] = {
    "period": (
        "The month (2024-03), quarter (2024-Q1) or year (2024) the row counts.",
        "该行统计的月 (2024-03)、季度 (2024-Q1) 或年 (2024)。",
    ),
    "revenue": (
        "Net revenue (purchases − returns) in the period, returns of customers who bought nothing in it included.",
        "该期净收入 (购买 − 退货)，含该期未购买客户的退货。",
    ),
    "customers": ("Customers in the cohort.", "同期群的客户数。"),
}


def retention_definition(key: str, lang: str) -> str:
    """One-line meaning of a retention measure (``""`` when crmkit has none)."""
    pair = RETENTION_DEFINITIONS.get(key)
    return pair[check_lang(lang)] if pair else column_definition(key, lang)


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
                out[col] = values.cat.rename_categories(partial(_renamed, mapping))
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
        "termination": "repeat buyers: no purchase for more than {tf} × the usual gap, or P(alive) below {p} "
        "while past it; one-time buyers: past their first cycle with P(alive) below {p1} (without a model, or "
        "with bgnbd: silent longer than {q}% of returning customers took to buy a second time)",
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
        "termination": "复购客户：超过 {tf} 倍常规间隔未再购买，或已过常规间隔且存活概率 P(alive) 低于 {p}；"
        "只购买过一次的客户：已过首个周期且 P(alive) 低于 {p1}（无模型或 bgnbd 时：未购买时长超过 {q}% "
        "回头客的首次回购间隔）",
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
        "p1": f"{rules.one_time_p_alive:g}",
        "q": f"{100 * rules.one_time_gap_quantile:g}",
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


#: How a next-action rule reads: each condition's subject, "or" between its names, "; " between conditions.
ACTION_RULE_WORDS: Final = {
    "tiers": ("tier", "等级"),
    "stages": ("stage", "阶段"),
    "bands": ("churn risk", "流失风险"),
    "or": (" or ", "或"),
    "and": ("; ", "；"),
    "everyone": ("everyone else", "其他所有客户"),
}


def explain_actions(rules: ActionRules = DEFAULT_ACTIONS, *, lang: str = "en") -> pd.DataFrame:
    """The next-action rules in force as *order, action, rule* (1 = checked first), the rule text in ``lang``."""
    index = check_lang(lang)
    words = {key: pair[index] for key, pair in ACTION_RULE_WORDS.items()}

    def text(rule) -> str:
        parts = [
            f"{words[key]} {words['or'].join(value_label(column, name, lang) for name in getattr(rule, key))}"
            for key, (column, _) in CONDITIONS.items()
            if getattr(rule, key)
        ]
        return words["and"].join(parts) if parts else words["everyone"]

    return pd.DataFrame(
        {
            "order": np.arange(1, len(rules.rules) + 1),
            "action": [rule.action for rule in rules.rules],
            "rule": [text(rule) for rule in rules.rules],
        }
    )


#: Short headers for the terminal, where a table has many columns; other keys use :func:`column_label`.
SHORT_LABELS: Final[dict[str, tuple[str, str]]] = {
    CUSTOMER_ID: ("Customer", "客户编号"),
    "tier": ("Tier", "等级"),
    "lifecycle_stage": ("Stage", "阶段"),
    "churn_band": ("Churn", "流失风险"),
    "next_action": ("Action", "行动"),
    "segment": ("Segment", "客户细分"),
    "total_revenue": ("Revenue", "销售额"),
    "revenue": ("Revenue", "收入"),
    "n_orders": ("Orders", "订单数"),
    "clv": ("CLV", "CLV"),
    "value_if_active": ("If stays", "留存价值"),
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
    "lost_key_accounts": ("Lost key accounts, by historic profit", "正在流失的重点客户 (按历史利润)"),
    "total_margin": ("Profit", "利润"),
    "days_since_last": ("Silent (d)", "未购天数"),
    "profit": ("Profit", "利润"),
    "total_customer_value": ("Total value", "总价值"),
    "total_customer_cost": ("Total cost", "总成本"),
    "delivered_value": ("Delivered", "让渡价值"),
    "period": ("Period", "期间"),
    "active": ("Active", "活跃"),
    "new": ("New", "新客户"),
    "returning": ("Returning", "留存"),
    "reactivated": ("Won back", "召回"),
    "lost": ("Lost", "流失"),
    "churn_rate": ("Churn", "流失率"),
    "retention_rate": ("Retention", "留存率"),
    "repeat_purchase_rate": ("Repeat", "复购率"),
    "revenue_new": ("New", "新客户"),
    "revenue_returning": ("Returning", "留存客户"),
    "revenue_reactivated": ("Won back", "召回客户"),
    "net_revenue_retention": ("NRR", "净收入留存"),
    "cohort": ("Cohort", "首购期"),
    "cohort_size": ("Size", "客户数"),
    "all": ("All", "全部"),
}
#: What the tiers were ranked by, as the tier table's title says it.
TIER_BASIS_WORDS: Final = {
    "revenue": ("by revenue", "按收入"),
    "profit": ("by profit", "按利润"),
    "clv": ("by CLV", "按 CLV"),
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
    "p_alive_ties": (
        "* {model}: every one-time buyer ({n:,} of {customers:,} customers) gets P(alive) = 1 under BG/NBD, however "
        "long ago they bought, so its AUC cannot rank them; mbgnbd and pareto can.",
        "* {model}：BG/NBD 模型中每位只购买过一次的客户（{customers:,} 位中的 {n:,} 位）无论多久以前购买，"
        "仍活跃概率都为 1，因此其 AUC 无法区分这些客户；mbgnbd 和 pareto 可以。",
    ),
    "choose": (
        "The model that predicts your own holdout best is the one to score with: --model in segment, churn, value.",
        "在您自己数据的验证期中预测最准的模型即应选用的模型：在 segment、churn、value 中用 --model 指定。",
    ),
}


UNIT_WORDS: Final = {"day": "天", "week": "周", "month": "个月"}


#: Retention's periods and their words (a "month" is also a time unit, with the same labels).
PERIOD_LABELS: Final = {"month": ("month", "月"), "quarter": ("quarter", "季度"), "year": ("year", "年")}

#: A number of periods: the what-if's horizon.
PERIOD_SPANS: Final = {
    "month": ("{n} month{s}", "{n} 个月"),
    "quarter": ("{n} quarter{s}", "{n} 个季度"),
    "year": ("{n} year{s}", "{n} 年"),
}
#: The sentences of the retention report; ``{period}`` is a :data:`PERIOD_LABELS` word.
RETENTION_WORDS: Final = {
    "customers_title": ("Customers by {period}", "各{period}客户"),
    "revenue_title": ("Revenue by {period}", "各{period}收入"),
    "latest_title": ("Retention, {label} ({period})", "客户留存：{label} ({period})"),
    "period_of": ("{label} ({period})", "{label} ({period})"),
    "cohort_customers": (
        "Cohorts: % of customers active, by {period}s since the first purchase",
        "同期群：首次购买后第 N {period}仍活跃的客户占比 (%)",
    ),
    "cohort_revenue": (
        "Cohorts: revenue as % of the first {period}'s, by {period}s since",
        "同期群：首次购买后第 N {period}收入占首{period}收入的比例 (%)",
    ),
    "cohort_more": (
        "{shown} of {total} {period}s since the first purchase shown; all in --format json and --out",
        "仅显示首次购买后 {shown}/{total} 期；完整数据见 --format json 或 --out",
    ),
    "partial": (
        "* {label} is not over at the as-of date: fewer purchases so far, so its churn is overstated",
        "* {label} 截至基准日尚未结束：购买时间不足，流失率偏高",
    ),
    "groups_title": ("By {group}, {label}", "按{group}：{label}"),
    "what_if_title": ("What if retention were {points:g} points higher", "若留存率提高 {points:g} 个百分点"),
    "retention_observed": ("Retention per {period}, {window}", "每{period}留存率 ({window})"),
    "retention_raised": ("Retention raised by {points:g} points", "提高 {points:g} 个百分点后的留存率"),
    "active_now": ("Active customers, {label}", "活跃客户数 ({label})"),
    "profit_per_customer": ("Profit per retained customer per {period}", "每位留存客户每{period}利润"),
    "margin_given": ("Margin (--margin)", "毛利率 (--margin)"),
    "margin_data": ("Margin (total margin / revenue in the data)", "毛利率 (数据中的累计毛利 / 收入)"),
    "margin_revenue": ("Margin (no cost column: revenue counted)", "毛利率 (无成本列：按收入计)"),
    "profit_observed": ("Profit over {span} at the observed retention", "按当前留存率，{span}内的利润"),
    "profit_raised": ("Profit over {span} at {rate}", "留存率为 {rate} 时，{span}内的利润"),
    "increase": ("Increase", "增幅"),
    "formula": (
        "Formula: profit = active customers × profit per retained customer per {period} × "
        "Σ_(t=1..{n}) r^t × (1 + {d})^(−{t}), r = retention per {period}; today's customers only, none won back.",
        "公式：利润 = 活跃客户数 × 每位留存客户每{period}利润 × Σ_(t=1..{n}) r^t × (1 + {d})^(−{t})，"
        "r 为每{period}留存率；只计当前客户，不计召回。",
    ),
}


def what_if_lines(scenario: WhatIf, lang: str) -> tuple[str, list[tuple[str, float | None, str]], str]:
    """The what-if in ``lang``: its title, its lines as (label, value, kind: percent, count, money or change)
    and the formula, for the terminal and the workbook alike."""
    words = retention_words(lang, scenario.period)
    raised = f"{100 * scenario.retention_raised:.1f}%"
    n = scenario.periods
    span = PERIOD_SPANS[scenario.period][check_lang(lang)].format(n=n, s="" if n == 1 else "s")
    lines: list[tuple[str, float | None, str]] = [
        (words["retention_observed"].format(window=scenario.window), scenario.retention, "percent"),
        (words["retention_raised"].format(points=scenario.points), scenario.retention_raised, "percent"),
        (words["active_now"].format(label=scenario.window.split(" – ")[-1]), scenario.active, "count"),
        (words[f"margin_{scenario.margin_basis}"], scenario.margin, "percent"),
        (words["profit_per_customer"], scenario.profit_per_customer, "money"),
        (words["profit_observed"].format(span=span), scenario.profit, "money"),
        (words["profit_raised"].format(span=span, rate=raised), scenario.profit_raised, "money"),
        (words["increase"], scenario.increase, "change"),
    ]
    formula = words["formula"].format(
        n=scenario.periods, d=f"{scenario.discount_rate:g}", t=YEARS_OF_T[scenario.period]
    )
    return words["what_if_title"].format(points=scenario.points), lines, formula


def retention_words(lang: str, period: str) -> dict[str, str]:
    """The retention sentences in ``lang``, with ``{period}`` filled in (other fields stay to be formatted)."""
    index = check_lang(lang)
    word = PERIOD_LABELS.get(period, (period, period))[index]
    return {key: pair[index].replace("{period}", word) for key, pair in RETENTION_WORDS.items()}


# --- choices by their Chinese labels ------------------------------------------------------------------------------
#: What --tier-by ranks by.
TIER_BY_LABELS: Final = {"revenue": ("revenue", "收入"), "profit": ("profit", "毛利"), "clv": ("CLV", "客户终身价值")}
#: The command-line choices that may be given by their Chinese label (``--min-tier 黄金``, ``--time-unit 周``),
#: by the library parameter they set.
CHOICE_LABELS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "at_risk_min_tier": {tier: TIER_LABELS[tier] for tier in ("platinum", "gold", "iron")},
    "time_unit": {unit: SUMMARY_LABELS[unit] for unit in ("day", "week", "month")},
    "retention_period": PERIOD_LABELS,
    "tier_by": TIER_BY_LABELS,
    "lang": {"en": ("English", "英文"), "zh": ("Chinese", "中文")},
}
#: Chinese label → canonical choice, over every choice above (the labels never clash: 月 is a month either way).
CHOICE_ALIASES: Final = {zh: key for labels in CHOICE_LABELS.values() for key, (_, zh) in labels.items()}


def choice_key(value: str) -> str:
    """The canonical choice a command-line value names: its key when it is a Chinese label, else itself."""
    return CHOICE_ALIASES.get(value, value)


# --- errors and notes in Chinese ------------------------------------------------------------------------------
#: Words before a message ("Error: …", "Hint: …", "Note: …"), and the dropped-row report.
MESSAGE_WORDS: Final = {
    "error": ("Error: ", "错误："),
    "hint": ("Hint: ", "提示："),
    "note": ("Note: ", "注意："),
    "dropped": ("Dropped {n:,} of {total:,} rows: {reasons}.", "已剔除 {total:,} 行中的 {n:,} 行：{reasons}。"),
    "dropped_reason": ("{n:,} {reason}", "{reason} {n:,} 行"),
    "dropped_example": (
        "  {file} row {row}: {column} {value!r} ({reason})",
        "  {file} 第 {row} 行：{column} {value!r}（{reason}）",
    ),
    "rejects_hint": (
        "  Write every dropped row with --rejects FILE, or stop on bad rows with --strict.",
        "  用 --rejects FILE 写出每一条被剔除的行，或用 --strict 在遇到错误行时停止。",
    ),
    "rejects_written": ("  All dropped rows written to {path}.", "  所有被剔除的行已写入 {path}。"),
}
#: Errors, hints and notes in Chinese: the form of the English text (a regular expression over all of it, after
#: the command line's own words replace library parameter names) and the Chinese wording. Named groups carry
#: file names, columns and values across; a group named ``reason`` is itself translated, ``choices`` and
#: ``reasons`` get their labels. A message that matches no form is shown in English.
MESSAGES_ZH: Final[tuple[tuple[str, str], ...]] = (
    # The workbook of customers scored in partitions.
    (
        r"Scored in partitions \(--engine dask\): every customer's row is in the Parquet dataset (?P<dataset>.+)\. "
        r"This workbook lists the top (?P<shown>[\d,]+) of (?P<customers>[\d,]+) customers by value rank, the first "
        r"(?P<risky>[\d,]+) of (?P<at_risk>[\d,]+) at risk and the first (?P<lost>[\d,]+) of (?P<lost_total>[\d,]+) "
        r"lost key accounts\.",
        "分区计算 (--engine dask)：每位客户的结果在 Parquet 数据集 {dataset} 中。"
        "本工作簿列出按价值排名的前 {shown} 位客户（共 {customers} 位）、流失风险客户的前 {risky} 位（共 {at_risk} 位）"
        "和流失中的重点客户的前 {lost} 位（共 {lost_total} 位）。",
    ),
    (
        r"Scored in partitions \(--engine dask\): every customer's row goes to a Parquet dataset with --out FOLDER\. "
        r"This workbook lists the top (?P<shown>[\d,]+) of (?P<customers>[\d,]+) customers by value rank, the first "
        r"(?P<risky>[\d,]+) of (?P<at_risk>[\d,]+) at risk and the first (?P<lost>[\d,]+) of (?P<lost_total>[\d,]+) "
        r"lost key accounts\.",
        "分区计算 (--engine dask)：用 --out 文件夹 可把每位客户的结果写入 Parquet 数据集。"
        "本工作簿列出按价值排名的前 {shown} 位客户（共 {customers} 位）、流失风险客户的前 {risky} 位（共 {at_risk} 位）"
        "和流失中的重点客户的前 {lost} 位（共 {lost_total} 位）。",
    ),
    # Reading files.
    (
        r"(?P<file>.+): cannot find the (?P<columns>.+) column\(s\); columns found: (?P<found>.+)",
        "{file}：找不到必需的列 {columns}；文件中的列有：{found}",
    ),
    (
        r"name them with (?P<fixes>.+) \(or a \[columns\] table in crmkit\.toml\); if the header is not the first "
        r"row, give its row with --header-row N",
        "请用 {fixes} 指明列名（或在 crmkit.toml 的 [columns] 表中设置）；如果表头不在第一行，请用 --header-row N 指明表头所在行",
    ),
    (
        r"name them with (?P<fixes>.+) \(or a \[columns\] table in crmkit\.toml\)",
        "请用 {fixes} 指明列名（或在 crmkit.toml 的 [columns] 表中设置）",
    ),
    (
        r"(?P<file>.+): column (?P<wanted>'.*') \(given for (?P<column>\w+)\) is not in the file; columns found: (?P<found>.+)",
        "{file}：文件中没有 {wanted} 列（指定给 {column}）；文件中的列有：{found}",
    ),
    (r"correct it, e\.g\. (?P<fix>.+)", "请改正，例如 {fix}"),
    (r"(?P<file>.+) does not exist", "{file} 不存在"),
    (r"check the path \(quote names with spaces\)", "请检查路径（名称含空格时请加引号）"),
    # Dates: day/month order.
    (
        r"(?P<where>.*)dates like (?P<sample>\S+) could be day/month or month/day, and no date in the file settles it",
        "{where}{sample} 这样的日期既可能是日/月也可能是月/日，文件中没有能确定顺序的日期",
    ),
    (
        r"say which with --date-order dmy \(5 March\) or --date-order mdy \(May 3\)",
        "请用 --date-order dmy（日/月，如 3 月 5 日写作 5/3）或 --date-order mdy（月/日）指明",
    ),
    (
        r"(?P<where>.*)dates mix day/month orders: (?P<day>\S+) only fits day first but (?P<month>\S+) only fits month first",
        "{where}日期混用了两种顺序：{day} 只能是日在前，而 {month} 只能是月在前",
    ),
    (r"fix the export so one order is used, or split the file", "请让导出统一使用一种日期顺序，或拆分文件"),
    (
        r"(?P<where>.*)--date-order (?P<given>\w+) contradicts the data: (?P<sample>\S+) only fits (?P<fits>\w+)",
        "{where}--date-order {given} 与数据矛盾：{sample} 只能按 {fits} 解读",
    ),
    (r"use --date-order (?P<order>\w+) or leave it out", "请用 --date-order {order}，或不指定"),
    (
        r"(?P<file>.+): dates read as (?P<order>\w+) \((?P<sample>\S+) only fits (?P<fits>[\w/]+)\)",
        "{file}：日期按 {order} 读取（{sample} 只能按 {fits} 解读）",
    ),
    (r"(?P<where>--[\w-]+) (?P<text>'.*') is not a date", "{where} {text} 不是日期"),
    (r"write the date as YYYY-MM-DD, e\.g\. (?P<example>\S+)", "日期请写成 YYYY-MM-DD，例如 {example}"),
    # Bad rows under --strict, and files with none usable.
    (
        r"(?P<n>[\d,]+) bad row\(s\) \((?P<reasons>.+)\); first: (?P<file>.+) row (?P<row>\d+), column (?P<column>.+): "
        r"(?P<value>.+) \((?P<reason>[^()]+)\)",
        "{n} 行有问题（{reasons}）；第一行：{file} 第 {row} 行，{column} 列：{value}（{reason}）",
    ),
    (
        r"fix the rows, or drop --strict to skip them \(write them out with --rejects FILE\)",
        "请修正这些行，或去掉 --strict 跳过它们（用 --rejects FILE 写出）",
    ),
    # Options.
    (
        r"unknown (?P<option>--[\w-]+) (?P<value>'.*'); choose one of (?P<choices>.+)",
        "{option} 的取值 {value} 无效；可选：{choices}",
    ),
    (
        r"no (?P<what>purchases|transactions) on or before the as-of date (?P<date>\S+); choose a later --as-of",
        "分析基准日 {date} 及之前没有{what}；请选择更晚的 --as-of",
    ),
    (r"cannot group by (?P<column>'.*'); choose one of (?P<choices>.+)", "不能按 {column} 分组；可选：{choices}"),
    (
        r"group by a column of the (?:customer table such as salesperson or region|transactions \(salesperson, region, "
        r"channel\) or of the --customers file)",
        "请按客户表中的列分组，如销售员或区域",
    ),
    # The value model, skipped or refused.
    (
        r"value model skipped: (?P<reason>.+); churn risk comes from each customer's own rhythm and there is no CLV",
        "未运行价值模型：{reason}；流失风险按每位客户自己的购买节奏计算，没有 CLV",
    ),
    (
        r"no customer has a repeat purchase, so the purchase model cannot be fitted",
        "没有客户重复购买过，无法拟合购买模型",
    ),
    (r"use more history: an earlier first date or a later --as-of", "请使用更长的历史：更早的开始日期或更晚的 --as-of"),
    (r"no customers to fit the purchase model on", "没有可用于拟合购买模型的客户"),
    # Retention and compare.
    (
        r"no what-if: it needs a complete (?P<period>\w+) that follows one with active customers",
        "无法估算：需要至少一个完整的{period}，且其上一{period}有活跃客户",
    ),
    (
        r"(?P<new>.+) starts on (?P<new_first>\S+), later than (?P<old>.+) \((?P<old_first>\S+)\), and the two "
        r"(?P<overlap>do not overlap|overlap only in part): .* crmkit compare FOLDER --as-of (?P<a>\S+) --as-of (?P<b>\S+)",
        "{new} 从 {new_first} 开始，晚于 {old}（{old_first}），两者{overlap}：每个文件只有自己那段时间的数据，不是完整历史，"
        "因此等级、阶段和“未出现”描述的是各期内的购买，而不是客户的历史。请比较完整历史的导出，或把两个文件放进同一个文件夹，"
        "按两个日期比较：crmkit compare FOLDER --as-of {a} --as-of {b}",
    ),
)
_MESSAGE_FORMS: Final = tuple((re.compile(form, re.S), zh) for form, zh in MESSAGES_ZH)
#: Values inside a message that have labels of their own.
_MESSAGE_VALUES: Final[dict[str, str | tuple[str, str]]] = {
    "do not overlap": "不重叠",
    "overlap only in part": "只部分重叠",
    "purchases": "购买",
    "transactions": "交易",
    "day/month": "日/月",
    "month/day": "月/日",
    **PERIOD_LABELS,
}


def message_text(text: str, lang: str) -> str:
    """An error, hint or note in ``lang``: for Chinese, the wording of the first form in :data:`MESSAGES_ZH` the
    whole text matches; the text as it is otherwise."""
    if check_lang(lang) == 0:
        return text
    for form, chinese in _MESSAGE_FORMS:
        match = form.fullmatch(text)
        if match:
            return chinese.format(**{name: _message_value(name, value) for name, value in match.groupdict().items()})
    return text


def _message_value(name: str, value: str) -> str:
    """A value taken from an English message, as the Chinese one shows it."""
    if name == "reason":
        return label(value, "zh") if value in DROP_REASON_LABELS else message_text(value, "zh")
    if name == "choices":  # "platinum, gold, iron" → "platinum (铂金), gold (黄金), iron (铁)"
        return "、".join(_with_label(choice.strip()) for choice in value.split(","))
    if name == "reasons":  # "2 empty customer_id, 1 missing or unparseable order_date" → "客户编号为空 2 行，…"
        counts = (part.partition(" ") for part in value.split(", "))
        return "，".join(f"{label(reason, 'zh')} {n} 行" for n, _, reason in counts)
    if name == "where":  # "sales.csv, column 'Order Date': "
        return re.sub(r"^(.+), column ('.*'): $", r"\1，\2 列：", value)
    shown = _MESSAGE_VALUES.get(value, value)
    return shown[1] if isinstance(shown, tuple) else shown


def _with_label(choice: str) -> str:
    pair = next((labels[choice] for labels in (*CHOICE_LABELS.values(), _VOCABULARY) if choice in labels), None)
    return f"{choice} ({pair[1]})" if pair and pair[1] != choice else choice


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


def _renamed(names: dict[str, str], key: str) -> str:
    """A category's label, or the category itself when it has none."""
    return names.get(key, key)
