"""Plain-language zh/en phrases for the churn model's features, used to explain a score."""

from __future__ import annotations

import pandas as pd

from tools.features import EXTRA_PREFIX
from tools.wording import singular_after_one

# --- plain-language phrases for explanations ---------------------------------------------------
# {v} value, {a} absolute value, {dz}/{de} direction (下降/上升, down/up). Values are the subscriber's.
FEATURE_TEXT: dict[str, tuple[str, str]] = {
    "arpu_change_pct": ("近3个月ARPU较前3个月{dz}{a}%", "ARPU {de} {a}% vs the previous 3 months"),
    "arpu_mom_change_pct": ("上月ARPU环比{dz}{a}%", "last month's ARPU {de} {a}% month on month"),
    "arpu_slope_pct": ("近12个月ARPU平均每月{dz}{a}%", "ARPU trending {de} {a}% a month over 12 months"),
    "arpu_volatility_pct": ("月消费波动大（变异系数{v}%）", "monthly spend fluctuates (variation {v}%)"),
    "mou_change_pct": ("近3个月通话时长较前3个月{dz}{a}%", "minutes of use {de} {a}% vs the previous 3 months"),
    "mou_mom_change_pct": ("上月通话时长环比{dz}{a}%", "last month's minutes {de} {a}% month on month"),
    "mou_slope_pct": ("近12个月通话时长平均每月{dz}{a}%", "minutes trending {de} {a}% a month"),
    "data_change_pct": ("近3个月流量较前3个月{dz}{a}%", "data use {de} {a}% vs the previous 3 months"),
    "sms_change_pct": ("近3个月短信较前3个月{dz}{a}%", "SMS {de} {a}% vs the previous 3 months"),
    "distinct_called_change_pct": ("近3个月通话对象数较前3个月{dz}{a}%",
                                   "distinct numbers called {de} {a}% vs the previous 3 months"),
    "called_calling_ratio_change_pct": ("被叫/主叫比例较前3个月{dz}{a}%",
                                        "called/calling ratio {de} {a}% vs the previous 3 months"),
    "zero_call_months_3m": ("近3个月中{v}个月零通话", "no calls in {v} of the last 3 months"),
    "zero_activity_months_12m": ("近12个月中{v}个月无任何使用", "no activity in {v} of the last 12 months"),
    "usage_months": ("近12个月仅{v}个月有使用记录", "usage in only {v} of the last 12 months"),
    "fwd_share_3m_pct": ("近3个月呼转话单占比{v}%", "{v}% of call records forwarded in the last 3 months"),
    "fwd_months_over_10pct_3m": ("近3个月有{v}个月呼转占比超过10%",
                                 "forwarding above 10% of calls in {v} of the last 3 months"),
    "fwd_count_3m": ("近3个月呼叫转移{v}次", "{v} calls forwarded in the last 3 months"),
    "fwd_offnet_share_pct": ("当月呼转至网外号码占比{v}%", "{v}% of this month's calls forwarded off-net"),
    "competitor_hotline_calls_3m": ("近3个月拨打其他运营商客服热线{v}次",
                                    "calls to a competitor's hotline in 3 months: {v}"),
    "competitor_hotline_calls": ("近30天拨打其他运营商客服热线{v}次",
                                 "calls to a competitor's hotline in 30 days: {v}"),
    "complaints_3m": ("近3个月投诉{v}次", "complaints in the last 3 months: {v}"),
    "complaints_90d": ("近90天投诉{v}次", "complaints in the last 90 days: {v}"),
    "suspensions_per_month_6m": ("近6个月月均停机{v}次", "{v} suspensions a month over 6 months"),
    "suspensions_6m": ("近6个月停机{v}次", "{v} suspensions in 6 months"),
    "silent_days": ("连续{v}天无通话", "no calls for {v} days"),
    "arrears_days": ("欠费{v}天", "in arrears for {v} days"),
    "arrears_amount": ("欠费{v}元", "{v} yuan in arrears"),
    "contract_remaining_amount_pct": ("协议剩余消费金额{v}%", "{v}% of the committed amount left"),
    "tenure_months": ("在网{v}个月", "{v} months in network"),
    "arpu_vs_network": ("ARPU为全网平均的{v}倍", "ARPU {v}x the network average"),
    "arpu_vs_plan": ("实际消费为套餐月费的{v}倍", "spend {v}x the plan fee"),
    "arpu_month": ("当月消费{v}元", "{v} spent this month"),
    "mou_month": ("当月通话{v}分钟", "{v} minutes of calls this month"),
    "sms_month": ("当月短信{v}条", "{v} SMS this month"),
    "data_mb_month": ("当月流量{v}MB", "{v} MB of data this month"),
    "plan_fee": ("套餐月费{v}元", "plan fee {v} a month"),
    "age": ("年龄{v}岁", "aged {v}"),
    "group_size": ("所在单位{v}条线", "{v} lines in the company account"),
    "points_balance": ("积分余额{v}分", "{v} loyalty points"),
    "cumulative_spend": ("累计消费{v}元", "{v} spent in total"),
    "x_customer_service_calls": ("拨打客服热线{v}次", "{v} calls to customer service"),
    "x_account_length": ("开户{v}天", "account {v} days old"),
    "x_number_vmail_messages": ("语音信箱留言{v}条", "{v} voicemail messages"),
    "x_total_day_minutes": ("日间通话{v}分钟", "{v} daytime minutes"),
    "x_total_day_charge": ("日间话费{v}", "daytime charges {v}"),
    "x_total_day_calls": ("日间通话{v}次", "{v} daytime calls"),
    "x_total_eve_minutes": ("晚间通话{v}分钟", "{v} evening minutes"),
    "x_total_eve_charge": ("晚间话费{v}", "evening charges {v}"),
    "x_total_night_minutes": ("夜间通话{v}分钟", "{v} night minutes"),
    "x_total_night_charge": ("夜间话费{v}", "night charges {v}"),
    "x_total_intl_minutes": ("国际通话{v}分钟", "{v} international minutes"),
    "x_total_intl_calls": ("国际通话{v}次", "{v} international calls"),
    "x_total_intl_charge": ("国际话费{v}", "international charges {v}"),
}
# 0/1 features: (text when 1, text when 0)
FLAG_TEXT: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "has_contract": (("有合约", "under contract"), ("无合约绑定", "no contract binding")),
    "is_group": (("集团客户", "group customer"), ("非集团客户", "not a group customer")),
    "is_student": (("学生客户", "student"), ("非学生客户", "not a student")),
    "is_special": (("特殊客户", "special customer"), ("非特殊客户", "not a special customer")),
    "unit_guarantee": (("有单位协议担保", "unit agreement"), ("无单位协议担保", "no unit agreement")),
    "bank_collection": (("银行托收", "direct debit"), ("未办理银行托收", "no direct debit")),
    "x_senior_citizen": (("老年客户", "senior citizen"), ("非老年客户", "not a senior citizen")),
    "x_partner": (("有伴侣", "has a partner"), ("无伴侣", "no partner")),
    "x_dependents": (("有家属", "has dependents"), ("无家属", "no dependents")),
    "x_phone_service": (("有语音业务", "phone service"), ("无语音业务", "no phone service")),
    "x_multiple_lines": (("多条线路", "multiple lines"), ("单条线路", "a single line")),
    "x_online_security": (("订有网络安全服务", "online security"), ("未订网络安全服务", "no online security")),
    "x_online_backup": (("订有在线备份", "online backup"), ("未订在线备份", "no online backup")),
    "x_device_protection": (("订有终端保障", "device protection"), ("未订终端保障", "no device protection")),
    "x_tech_support": (("订有技术支持", "tech support"), ("未订技术支持", "no tech support")),
    "x_streaming_tv": (("订有电视流媒体", "streaming TV"), ("未订电视流媒体", "no streaming TV")),
    "x_streaming_movies": (("订有影视流媒体", "streaming movies"), ("未订影视流媒体", "no streaming movies")),
    "x_paperless_billing": (("电子账单", "paperless billing"), ("纸质账单", "paper bills")),
    "x_international_plan": (("订有国际通话套餐", "international plan"), ("无国际通话套餐", "no international plan")),
    "x_voice_mail_plan": (("订有语音信箱", "voicemail plan"), ("无语音信箱", "no voicemail plan")),
}
CATEGORY_TEXT: dict[str, tuple[str, str]] = {
    "brand": ("品牌", "brand"), "payment_type": ("付费方式", "payment type"),
    "customer_group": ("客户群", "customer group"), "plan_type": ("套餐类型", "plan type"),
    "contract_type": ("合约类型", "contract type"), "handset_gen": ("终端类型", "handset"),
    "handset_price_band": ("终端价位", "handset price band"), "channel": ("入网渠道", "sales channel"),
    "region": ("地区", "region"), "vip_level": ("VIP等级", "VIP level"),
    "x_contract": ("合约期", "contract"), "x_internet_service": ("宽带类型", "internet service"),
    "x_payment_method": ("支付方式", "payment method"), "x_area_code": ("区号", "area code"),
}
VALUE_TEXT: dict[str, tuple[str, str]] = {
    "prepaid": ("预付费", "prepaid"), "postpaid": ("后付费", "postpaid"),
    "quasi_prepaid": ("准预付费", "quasi-prepaid"), "single": ("单产品", "single product"),
    "converged": ("融合套餐", "converged bundle"), "none": ("无", "none"),
    "handset_subsidy": ("购机补贴", "handset subsidy"), "credit_subsidy": ("话费补贴", "credit subsidy"),
    "mixed": ("混合补贴", "mixed subsidy"), "plan": ("套餐合约", "plan contract"),
    "2g": ("2G手机", "2G handset"), "3g_basic": ("3G普通手机", "basic 3G handset"),
    "smart": ("智能手机", "smartphone"), "agent": ("社会代理", "agent"), "online": ("网上", "online"),
    "own_store": ("自营厅", "own store"), "partner_store": ("合作厅", "partner store"),
    "direct_sales": ("直销", "direct sales"), "campus": ("校园", "campus"),
    "month_to_month": ("按月，无合约", "month-to-month"), "one_year": ("一年", "one year"),
    "two_year": ("两年", "two years"), "fiber_optic": ("光纤", "fiber optic"), "no": ("无", "none"),
    "electronic_check": ("电子支票", "electronic check"), "mailed_check": ("邮寄支票", "mailed check"),
    "bank_transfer_automatic": ("银行自动转账", "automatic bank transfer"),
    "credit_card_automatic": ("信用卡自动扣款", "automatic credit card"),
}


def describe_feature(feature: str, value: object) -> tuple[str, str] | None:
    """A zh/en phrase stating a feature's value, e.g. 'ARPU down 35% vs the previous 3 months'."""
    missing = value is None or (not isinstance(value, str) and bool(pd.isna(value)))
    if feature == "contract_days_to_end":
        if missing:
            return "无合约", "no contract"
        days = int(round(float(value)))  # type: ignore[arg-type]
        if days < 0:
            return f"协议已于{-days}天前到期", f"contract expired {-days} days ago"
        return f"协议{days}天后到期", f"contract ends in {days} days"
    if missing:
        return None
    if feature in FLAG_TEXT:
        return FLAG_TEXT[feature][0 if float(value) >= 0.5 else 1]  # type: ignore[arg-type]
    if feature in CATEGORY_TEXT or isinstance(value, str):
        zh_name, en_name = CATEGORY_TEXT.get(feature, (_plain(feature), _plain(feature)))
        zh_v, en_v = VALUE_TEXT.get(str(value), (str(value), str(value).replace("_", " ")))
        return f"{zh_name}：{zh_v}", f"{en_name}: {en_v}"
    v = float(value)  # type: ignore[arg-type]
    zh, en = FEATURE_TEXT.get(feature, (f"{_plain(feature)}：{{v}}", f"{_plain(feature)}: {{v}}"))
    words = {"v": _fmt(v), "a": _fmt(abs(v)), "dz": "下降" if v < 0 else "上升", "de": "down" if v < 0 else "up"}
    return zh.format(**words), singular_after_one(en.format(**words))


def _plain(feature: str) -> str:
    return feature.removeprefix(EXTRA_PREFIX).replace("_", " ")


def _fmt(v: float) -> str:
    """35, 3.5, 0.42: whole numbers from 10 up, one decimal from 1, two below."""
    if abs(v) >= 10:
        return f"{v:.0f}"
    return f"{v:.{1 if abs(v) >= 1 else 2}f}".rstrip("0").rstrip(".") or "0"
