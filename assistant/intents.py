"""What the user wants, recognised by rules and keyword lexicons (zh and en), with its slots.

Used by the offline engine (assistant/offline.py). Deterministic: the same text and context
always give the same `Intent`. Matching runs on the index form of the text (simplified Chinese,
half-width, lower case), so traditional characters and full-width digits are recognised too.

A request about one customer (handle, offer, script, follow-up facts) needs a *target*: a
subscriber id or resolved phone in the text, an explicit "this customer" / bare pronoun, or
an imperative with no customer mentioned at all ("draft an offer"), which then falls back to
the subscriber in focus or the attached snapshot. A question about "a customer" in general
("客户说太贵了，我该怎么回他?") is a playbook question, not a request about a record.

The module also names, in both languages, the codes the tools return (risk labels, tiers,
scenarios, fields), so that recognition and answers share one vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from knowledge.normalize import index_form

INTENTS = (
    "handle_customer", "follow_up", "draft_offer", "draft_script", "who_at_risk",
    "report_question", "playbook_question", "quiz", "roleplay", "help",
)


@dataclass
class Slots:
    """The details a request carries; None when the text does not say."""

    subscriber: str | None = None  # subscriber id named in the text (or resolved from a phone)
    masked_phone: str | None = None  # a masked number the orchestrator could not resolve
    scenario: str | None = None  # renewal | routine | campus | silent | port_out | ...
    value_tier: str | None = None  # high | medium | low | group
    risk_label: str | None = None  # high | medium | low | stable
    region: str | None = None  # province, as stored (广东)
    brand: str | None = None
    metric: str | None = None  # churn_rate | renewal_rate | retention_rate | activation_rate | ...
    group_by: str | None = None  # value_tier | region | brand | month
    top_n: int | None = None
    expiring_within_days: int | None = None
    facet: str | None = None  # points | contract | risk | plan | tenure | arrears | ...
    customer_initiated: bool = False
    described: bool = False  # the text describes a customer's situation (assistant/situation.py)


@dataclass
class Intent:
    """A recognised request: its name, slots and whether a subscriber is still missing."""

    name: str
    slots: Slots = field(default_factory=Slots)
    needs_subscriber: bool = False  # the request is about one customer but names none

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for EngineAnswer.data)."""
        return {"intent": self.name, "slots": {k: v for k, v in asdict(self.slots).items() if v not in (None, False)}}


# --- names of the codes the tools use, in both languages --------------------------------------

RISK_NAMES = {
    "stable": ("稳定", "stable"), "low": ("低危", "low risk"), "medium": ("中危", "medium risk"),
    "high": ("高危", "high risk"), "churned": ("已离网", "churned"),
}
TIER_NAMES = {"high": ("高价值", "high value"), "medium": ("中价值", "medium value"),
              "low": ("低价值", "low value"), "group": ("集团", "group")}
SCENARIO_NAMES = {
    "renewal": ("到期续约", "contract-expiry renewal"), "routine": ("常规维系", "routine retention"),
    "campus": ("校园维系", "campus retention"), "silent": ("沉默激活", "silent reactivation"),
    "port_out": ("拆机转网挽留", "port-out retention"), "collection": ("欠费催缴", "arrears collection"),
    "new_customer": ("新客户回访", "new-customer care"), "complaint_recovery": ("投诉修复", "complaint recovery"),
}
# Search queries (not answers) for the playbook basis of each scenario, and the playbook topic.
SCENARIO_QUERIES = {
    "renewal": ("合约到期 续约 提前联系 优惠顺序", "contract expiry renewal when to contact which offers first", "renewal"),
    "routine": ("常规维系 回访 关怀", "routine retention care callback", "routine"),
    "campus": ("校园客户 学生 维系", "campus student retention", "campus"),
    "silent": ("沉默客户 激活 派单阈值", "silent customer reactivation dispatch threshold", "silent"),
    "port_out": ("拆机转网 挽留 流程", "port-out disconnection win-back steps", "port-out"),
    "collection": ("欠费 催缴 被动流失", "arrears collection passive churn", None),
    "new_customer": ("新入网客户 首次回访", "new customer first callback", None),
    "complaint_recovery": ("投诉 修复 回访", "complaint recovery follow-up", None),
}
METRIC_NAMES = {
    "churn_rate": ("离网率", "churn rate"), "renewal_rate": ("续约率", "renewal rate"),
    "retention_rate": ("保有率", "retention rate"), "activation_rate": ("激活率", "activation rate"),
    "arpu": ("ARPU", "ARPU"), "dispatch_completion": ("派单完成率", "dispatch completion rate"),
    "mean_predicted_risk": ("平均流失概率", "mean predicted risk"), "high_risk_count": ("高危客户数", "high-risk count"),
    "retention_cost": ("维系成本", "retention cost"), "training_score": ("练习得分", "practice score"),
    "contacts": ("接触数", "contacts"),
}
GROUP_NAMES = {"value_tier": ("价值层级", "value tier"), "region": ("地区", "region"),
               "brand": ("品牌", "brand"), "month": ("月份", "month"), "agent": ("坐席", "agent"),
               "channel": ("渠道", "channel"), "trainee": ("学员", "trainee"), "risk_label": ("风险等级", "risk label"),
               "lifecycle_stage": ("生命周期", "lifecycle stage")}
PAYMENT_NAMES = {"postpaid": ("后付费", "post-paid"), "quasi_prepaid": ("准预付费", "quasi-prepaid"),
                 "prepaid": ("预付费", "prepaid")}
PLAN_TYPE_NAMES = {"single": ("单产品套餐", "single-product plan"), "converged": ("融合套餐", "converged bundle")}
CONTRACT_NAMES = {
    "none": ("无合约", "no contract"), "handset_subsidy": ("机补合约", "handset-subsidy contract"),
    "credit_subsidy": ("话补合约", "credit-subsidy contract"), "mixed": ("混合补贴合约", "mixed-subsidy contract"),
    "plan": ("套餐合约", "plan contract"),
}
# Subscriber fields a follow-up may ask about: (zh name, en name, zh unit, en unit).
FIELD_NAMES = {
    "points_balance": ("积分余额", "Points balance", " 分", " points"),
    "contract_remaining_amount_pct": ("合约剩余金额比例", "Contract amount remaining", "%", "%"),
    "plan_id": ("套餐", "Plan", "", ""), "plan_type": ("套餐类型", "Plan type", "", ""),
    "plan_fee": ("套餐月费", "Plan fee", " 元", " yuan/month"),
    "tenure_months": ("网龄", "Tenure", " 个月", " months"), "activation_date": ("入网日期", "Activated on", "", ""),
    "arrears_amount": ("欠费金额", "Arrears", " 元", " yuan"), "arrears_days": ("欠费天数", "Days in arrears", " 天", " days"),
    "suspensions_6m": ("近6个月停机次数", "Suspensions (6 months)", " 次", ""),
    "complaints_90d": ("近90天投诉", "Complaints (90 days)", " 次", ""),
    "competitor_hotline_calls": ("拨打竞争对手热线", "Calls to competitor hotlines", " 次", ""),
    "arpu_month": ("本月 ARPU", "ARPU this month", " 元", " yuan"),
    "arpu_3m_avg": ("近3月 ARPU", "3-month ARPU", " 元", " yuan"),
    "mou_month": ("本月通话分钟", "Minutes this month", " 分钟", " min"), "sms_month": ("本月短信", "SMS this month", " 条", ""),
    "data_mb_month": ("本月流量", "Data this month", " MB", " MB"),
    "fwd_offnet_share_pct": ("呼转至异网占比", "Calls forwarded off-net", "%", "%"),
    "silent_days": ("沉默天数", "Silent days", " 天", " days"),
    "payment_type": ("付费方式", "Payment", "", ""), "brand": ("品牌", "Brand", "", ""),
}
FACET_FIELDS = {
    "points": ["points_balance"], "contract": ["contract_remaining_amount_pct"],
    "plan": ["plan_id", "plan_type", "plan_fee", "arpu_3m_avg"], "tenure": ["tenure_months", "activation_date"],
    "arrears": ["arrears_amount", "arrears_days", "suspensions_6m"],
    "complaints": ["complaints_90d", "competitor_hotline_calls"],
    "usage": ["arpu_month", "arpu_3m_avg", "mou_month", "sms_month", "data_mb_month", "fwd_offnet_share_pct",
              "silent_days"],
}
TOOL_NAMES = {
    "search_playbooks": ("手册检索", "playbook search"), "get_subscriber": ("客户查询", "subscriber lookup"),
    "find_subscribers": ("客户筛选", "subscriber search"), "churn_risk": ("离网风险评估", "churn risk"),
    "high_risk_list": ("高危客户名单", "high-risk list"), "segment_snapshot": ("快照分群", "snapshot segmentation"),
    "recommend_offers": ("优惠推荐", "offer recommendations"), "draft_call_script": ("话术生成", "call scripts"),
    "draft_offer_messages": ("优惠文案", "offer messages"), "run_report": ("报表", "reports"),
    "training_lesson": ("场景课程", "lessons"), "training_quiz": ("测验", "quizzes"),
}

# --- lexicons (patterns run on the index form: simplified, lower case) -------------------------

_SUB_ID = re.compile(r"(?<![a-z0-9])(s\d{4,12})(?![0-9])")
_SUB_MARKED = re.compile(  # other id formats need a marker: "subscriber 7590-VHVEG", "客户ID 12345"
    r"(?:subscriber|customer id|客户(?:id|编号)|用户(?:id|编号)|\bid)\s*[:：#]?\s*([a-z0-9][a-z0-9\-_]{3,31})(?![a-z0-9\-_])"
)
_MASKED_PHONE = re.compile(r"(?<!\d)1[3-9]\d\*{4}\d{4}(?!\d)")

SCENARIO_WORDS: list[tuple[str, str]] = [  # first match wins: the most urgent situation leads
    ("port_out", r"转网|携号|携转|拆机|销户|跳网|换运营商|异网|port[- ]?out|porting|port (?:my|his|her|the) number"
                 r"|switch(?:ing)? to (?:a |another )?(?:competitor|carrier|operator)|\bcancel|disconnect"),
    ("complaint_recovery", r"投诉|complain"),
    ("collection", r"催缴|催费|collection"),
    ("silent", r"沉默|零次|三零|三无|零通话|零账单|silent|dormant|zero[- ]activity|inactive"),
    ("renewal", r"续约|到期|合约期满|renewal|renew|contract (?:end|expir)|expir"),
    ("campus", r"校园|学生|campus|student"),
    ("new_customer", r"新入网|新客户|新用户|新装|new (?:customer|subscriber)|onboarding"),
    ("routine", r"常规|日常维系|routine"),
]
_TIERS = [
    ("group", r"集团|政企|group|corporate|enterprise"),
    ("high", r"高价值|中高端|高端|高值|vip|high[- ]value|high[- ]end|high tier"),
    ("medium", r"中价值|中端|medium[- ]value|mid[- ]value|medium tier|mid tier"),
    ("low", r"低价值|低端|low[- ]value|low[- ]end|low tier"),
]
_RISKS = [
    ("high", r"高危|高风险|high[- ]risk"),
    ("medium", r"中危|中风险|medium[- ]risk"),
    ("low", r"低危|低风险|low[- ]risk"),
    ("stable", r"稳定客户|stable"),
]
_PROVINCES = {
    "北京": "beijing", "天津": "tianjin", "河北": "hebei", "山西": "shanxi", "内蒙古": "inner mongolia",
    "辽宁": "liaoning", "吉林": "jilin", "黑龙江": "heilongjiang", "上海": "shanghai", "江苏": "jiangsu",
    "浙江": "zhejiang", "安徽": "anhui", "福建": "fujian", "江西": "jiangxi", "山东": "shandong",
    "河南": "henan", "湖北": "hubei", "湖南": "hunan", "广东": "guangdong", "广西": "guangxi",
    "海南": "hainan", "重庆": "chongqing", "四川": "sichuan", "贵州": "guizhou", "云南": "yunnan",
    "西藏": "tibet", "陕西": "shaanxi", "甘肃": "gansu", "青海": "qinghai", "宁夏": "ningxia", "新疆": "xinjiang",
}
_BRANDS = {
    "全球通": "gotone", "神州行": "shenzhouxing", "动感地带": "m-zone", "如意通": "ruyitong",
    "up新势力": "up xinshili", "新时空": "xinshikong", "世界风": "shijiefeng",
}
_METRICS = [  # routing only: the report itself is read by tools/reports/nl.py (same words, more of them)
    ("mean_predicted_risk", r"平均(?:预测)?(?:流失|离网)(?:概率|风险)|平均风险|预测(?:流失|离网)概率|"
                            r"(?:mean|average) (?:predicted )?(?:churn )?(?:risk|probability)"),
    ("high_risk_count", r"高危(?:客户|用户)?(?:数量|人数|户数|数)|(?:number of|how many) high[- ]risk|"
                        r"high[- ]risk (?:subscriber |customer )?(?:count|number)"),
    ("retention_cost", r"单位挽留成本|维系成本|挽留成本|维系费用|retention (?:cost|spend)|cost per retained"),
    ("training_score", r"(?:训练|练习|培训)(?:平均)?(?:得分|成绩|次数)|(?:training|practice) (?:scores?|sessions)"),
    ("contacts", r"接触(?:数|量|次数)|外呼量|number of contacts"),
    ("churn_rate", r"离网率|流失率|churn rate|attrition rate|离网人数|流失人数|"
                   r"how many (?:customers |subscribers )?(?:churned|left)"),
    ("renewal_rate", r"续约率|renewal rate"),
    ("retention_rate", r"保有率|留存率|挽留成功率|retention rate|save rate"),
    ("activation_rate", r"激活率|activation rate"),
    ("arpu", r"arpu|户均收入"),
    ("dispatch_completion", r"派单完成率|到达率|completion rate|reach rate"),
]
_GROUP_BY = [
    ("value_tier", r"价值层级|价值等级|层级|value tier|tier|segment"),
    ("region", r"地区|省份|各省|区域|region|province"),
    ("brand", r"品牌|brand"),
    ("month", r"每月|按月|月度|趋势|monthly|by month|trend"),
    ("agent", r"坐席|客户经理|维系经理|(?:by|per) agent"), ("channel", r"渠道|(?:by|per) channel"),
    ("trainee", r"学员|(?:by|per) trainee"), ("risk_label", r"风险等级|(?:by|per) risk"),
    ("lifecycle_stage", r"生命周期|(?:by|per) (?:lifecycle )?stage"),
]
_AGGREGATE = re.compile(
    r"各|按.{0,6}(?:分|统计|看)|分(?:价值|层级|地区|品牌|省)|本月|上月|上个月|这个月|本季|这个季度|上季度|今年|去年|"
    r"报表|趋势|统计|\bby (?:value |risk )?(?:tier|region|brand|segment|month|province|agent|channel|trainee|stage)|"
    r"\bper (?:tier|region|brand|month|agent|channel|trainee)|"
    r"this (?:month|quarter|year)|last (?:month|quarter|year)|report|dashboard|trend|breakdown"
)
_DEFINITION = re.compile(
    r"怎么算|如何计算|怎么计算|公式|是什么|什么意思|定义|多少算|算正常|口径|what is|what's|what does|how is .{0,30}(?:calculated|computed|defined)|"
    r"formula|definition|define|mean\b|difference"
)
_QUIZ = re.compile(r"考考我|考我|测试我|测测我|出(?:几道|一道|个)?题|做题|测验|抽查我|quiz|test me|exam me|ask me (?:a |some )?questions")
_ROLEPLAY = re.compile(
    r"陪我练|陪练|角色扮演|扮演|模拟(?:一个|一位)?(?:客户|通话|电话)|对练|演练|role[- ]?play|pretend (?:to be|you are)|act as|"
    r"practi[cs]e (?:a call|with me|calls)|simulate (?:a )?(?:customer|call)"
)
_HELP_WHOLE = re.compile(
    r"(?:你好|您好|hi|hello|hey|help|帮助|帮忙|菜单|功能|怎么用|使用说明|谢谢|多谢|thanks|thank you|"
    r"你能做什么|你会做什么|你可以做什么|你会什么|你能干什么|能做什么|what can you do|what do you do|"
    r"how do i use (?:this|you)|who are you|你是谁)"
)
_HELP_ANY = re.compile(r"你能做什么|你可以做什么|你会做什么|你能干什么|你能帮我做什么|what can you do|what can you help")
_LIST = re.compile(
    r"有哪些|哪些客户|哪些用户|有谁|哪几个客户|列出|(?:给我|看看|看下|查查|拉).{0,12}(?:名单|列表|清单)|排名|排行|"
    r"前\s*\d+|前[一二三四五六七八九十]+|\btop\s*\d*\b|^list\b|(?:show|give) me|"
    r"who (?:is|are|might|will|could)|which (?:customers|subscribers)"
)
_QUESTION = re.compile(r"[?？]|吗|呢|什么|怎么|如何|哪|多少|几|\b(?:what|how|which|why|when|who|should|can|is|are|does|do)\b")
_PROCESS = re.compile(r"怎么|如何|多久|为什么|原因|吗|\bhow\b|\bwhy\b|\bwhen\b|\bshould\b|\breasons?\b")
_RISKY = re.compile(r"高危|中危|风险|离网|流失|要走|值得挽留|at[- ]risk|risk|churn|likely to leave|worth retaining|leaving")
_SCRIPT = re.compile(r"话术|脚本|台词|开场白|怎么说|怎么开口|script|talk track|what (?:do|should) i say|what to say|wording")
_OFFER = re.compile(r"优惠|方案|礼包|回馈|活动|赠送|offer|deal|discount|promotion|package|incentive")
_DRAFT = re.compile(
    r"给我|给他|给她|帮我|出个|出一个|出一份|出份|写|生成|来个|来一个|来一份|拟|做个|准备|推荐|设计|起草|要一个|要个|"
    r"draft|write|give me|generate|make|prepare|recommend|suggest|create|need|build|for (?:him|her|this)"
)
_HANDLE = re.compile(
    r"怎么(?:处理|办|维系|挽留|跟进|弄|做|应对|留)|如何(?:处理|维系|挽留|跟进|应对)|推什么|推荐什么|该推|维系|挽留|要走|"
    r"要转网|转网|拆机|销户|handle|deal with|retain|keep (?:him|her|them|this)|save (?:him|her|this)|"
    r"what (?:should|do|can) i (?:do|offer)|what to offer|next step|approach|work (?:this|on)"
)
_DEIXIS = re.compile(
    r"这个客户|这位客户|该客户|此客户|这个用户|该用户|这位用户|这客户|这个号码|这个人|这位|"
    r"this (?:customer|subscriber|client|guy|person|one|number)|that (?:customer|subscriber)"
)
_PRONOUN = re.compile(r"(?<!其)[他她](?!们|人)|\b(?:he|him|his|she|her|hers)\b")
_GENERIC = re.compile(r"客户|用户|顾客|客戶|customer|subscriber|client|user|member")
FACETS: list[tuple[str, str]] = [
    ("points", r"积分|points?\b|loyalty"),
    ("contract", r"合约|协议|到期|contract|expir|commitment"),
    ("arrears", r"欠费|欠款|arrears|owe|unpaid|overdue"),
    ("complaints", r"投诉|complain"),
    ("risk", r"风险|高危|中危|低危|为什么|原因|离网概率|流失概率|概率|risk|why|probability|reasons?"),
    ("plan", r"套餐|资费|plan|tariff"),
    ("tenure", r"网龄|在网多久|在网时长|入网多久|tenure|how long"),
    ("usage", r"用量|流量|通话|话费|arpu|消费|usage|data|minutes|spend|bill"),
    ("value", r"价值|层级|value|tier"),
    ("caps", r"预算|上限|成本|budget|cap\b|caps"),
    ("profile", r"资料|信息|基本情况|情况|profile|details|who is|tell me about"),
]
_FACET_SHORT = re.compile(r"呢|what about|how about|and (?:his|her)")
_INITIATED = re.compile(r"来办|来厅|到厅|营业厅|柜台|主动来|打进来|来电|walk[- ]?in|walked in|came in|called in|at the (?:store|counter)")
_ZH_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _zh_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _ZH_NUM.get(text[1:], 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _ZH_NUM.get(tens, 1) * 10 + (_ZH_NUM.get(ones, 0) if ones else 0)
    return _ZH_NUM.get(text)


def _first(table: list[tuple[str, str]], text: str) -> str | None:
    for code, pattern in table:
        if re.search(pattern, text):
            return code
    return None


def extract_slots(text: str) -> Slots:
    """Every slot found in `text` (any language); nothing is guessed."""
    t = index_form(text)
    slots = Slots()
    match = _SUB_ID.search(t)
    if match:
        slots.subscriber = match.group(1).upper()
    elif (marked := _SUB_MARKED.search(t)) and re.search(r"\d", marked.group(1)):
        original = re.search(re.escape(marked.group(1)), text, flags=re.IGNORECASE)
        slots.subscriber = original.group(0) if original else marked.group(1)  # as typed
    phone = _MASKED_PHONE.search(t)
    if phone and not slots.subscriber:
        slots.masked_phone = phone.group(0)
    slots.scenario = _first(SCENARIO_WORDS, t)
    slots.value_tier = _first(_TIERS, t)
    slots.risk_label = _first(_RISKS, t)
    for zh, en in _PROVINCES.items():
        if zh in t or re.search(rf"\b{en}\b", t):
            slots.region = zh
            break
    for zh, en in _BRANDS.items():
        if zh in t or en in t:
            slots.brand = {"up新势力": "UP新势力"}.get(zh, zh)
            break
    slots.metric = _first(_METRICS, t)
    if slots.metric or _AGGREGATE.search(t):
        slots.group_by = _first(_GROUP_BY, t)
    slots.top_n = _top_n(t)
    slots.expiring_within_days = _expiring_days(t)
    slots.facet = _first(FACETS, t)
    slots.customer_initiated = bool(_INITIATED.search(t))
    return slots


def _top_n(t: str) -> int | None:
    m = re.search(r"前\s*(\d+|[一二两三四五六七八九十]+)|top\s*(\d+)|(\d+)\s*(?:个|位|名|户)(?!月|天)|"
                  r"(\d+)\s*(?:customers|subscribers|people)", t)
    if not m:
        return None
    n = _zh_number(next(g for g in m.groups() if g))
    return max(1, min(50, n)) if n else None


def _expiring_days(t: str) -> int | None:
    m = re.search(r"(\d+)\s*天内(?:合约|协议)?到期|expir\w* (?:with)?in (\d+) days|(\d+)\s*个月内(?:合约|协议)?到期|"
                  r"expir\w* (?:with)?in (\d+) months", t)
    if m:
        days, _, months, months_en = m.groups()
        return int(days) if days else (int(m.group(2)) if m.group(2) else int(months or months_en) * 30)
    if re.search(r"下个?月(?:合约|协议)?到期|expir\w* next month", t):
        return 60
    if re.search(r"本月(?:合约|协议)?到期|这个月(?:合约|协议)?到期|expir\w* this month", t):
        return 31
    return None


def has_target(text: str, slots: Slots) -> tuple[bool, bool]:
    """(explicit target, generic customer talk): an id, phone, 'this customer' or a bare pronoun."""
    t = index_form(text)
    if slots.subscriber or slots.masked_phone or _DEIXIS.search(t):
        return True, False
    generic = bool(_GENERIC.search(t))
    return bool(_PRONOUN.search(t)) and not generic, generic


def recognise(text: str, *, has_focus: bool = False, has_snapshot: bool = False) -> Intent:
    """The intent and slots of one utterance, given whether a subscriber is in focus or attached."""
    t = index_form(text).strip()
    slots = extract_slots(text)
    bare = " ".join(re.sub(r"[^\w*]+", " ", t).split())
    if _QUIZ.search(t):
        return Intent("quiz", slots)
    if _ROLEPLAY.search(t):
        return Intent("roleplay", slots)
    if not bare or _HELP_WHOLE.fullmatch(bare) or _HELP_ANY.search(t):
        return Intent("help", slots)
    # "离网率怎么算" asks for a definition; "what is the churn rate by tier" asks for numbers.
    if slots.metric and (slots.group_by or (_AGGREGATE.search(t) and not _DEFINITION.search(t))):
        return Intent("report_question", slots)
    target, generic = has_target(text, slots)
    if _LIST.search(t) and _RISKY.search(t) and not _PROCESS.search(t) and not target:
        return Intent("who_at_risk", slots)
    # No customer mentioned at all ("draft an offer", "给我一个挽留话术"): about the one in focus. With a
    # snapshot attached, "a customer" is that snapshot ("call script for a silent customer").
    implicit = not target and (not generic or has_snapshot)
    context = has_focus or has_snapshot
    name = _customer_intent(t, slots, target) if target or implicit else None
    asks = name in ("handle_customer", "follow_up") or bool(_QUESTION.search(t))
    if name is not None and not target and asks and not (context and _short(t)):
        name = None  # "拆机挽留成功率有多少?", "开场白怎么说?": about the playbook, not about a record
    if name is not None:
        slots.described = not slots.subscriber and _describes_customer(text)
        return Intent(name, slots, needs_subscriber=not (slots.subscriber or context or slots.described))
    if (_HANDLE.search(t) or _OFFER.search(t) or _SCRIPT.search(t)) and _describes_customer(text):
        # "高价值客户合约70天后到期，ARPU下降30%，先推什么?": a customer described, not a playbook question
        slots.described = True
        return Intent(_customer_intent(t, slots, True) or "handle_customer", slots)
    return Intent("playbook_question", slots)


def _describes_customer(text: str, min_facts: int = 2) -> bool:
    from assistant.situation import describe

    return describe(text, network_avg_arpu=None, network_avg_tenure=None, min_facts=min_facts) is not None


def _short(t: str) -> bool:
    """A short utterance, as follow-ups are ("怎么处理?", "what should I do?")."""
    return len(re.findall(r"[\u4e00-\u9fff]", t)) <= 16 and len(re.findall(r"[a-z]+", t)) <= 8


def _customer_intent(t: str, slots: Slots, target: bool) -> str | None:
    """Which request about one customer this is, or None when it is not one."""
    if _SCRIPT.search(t) and (target or _DRAFT.search(t) or not _QUESTION.search(t) or _short(t)):
        return "draft_script"
    if _OFFER.search(t) and (target or _DRAFT.search(t)) and not _HANDLE.search(t):
        return "draft_offer"
    if _HANDLE.search(t):
        return "handle_customer"
    if target and slots.facet and (slots.subscriber or _PRONOUN.search(t) or _DEIXIS.search(t)):
        return "follow_up"
    if target and slots.facet is None and (slots.subscriber or slots.masked_phone):
        return "handle_customer"
    if not target and slots.facet and len(t) <= 12 and _FACET_SHORT.search(t):
        return "follow_up"  # "积分呢?" right after talking about a customer
    if target and (slots.subscriber or slots.masked_phone):
        return "handle_customer"
    return None
