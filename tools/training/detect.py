"""What a trainee's line does, read with bilingual patterns: the moves of a retention call (7.10).

Both the simulated customer (tools/training/roleplay.py) and the grader (tools/training/grading.py)
read lines through `read_line`, so the customer reacts to exactly what the rubric scores: greeting
and work number, verification, empathy, probing, an offer and its amounts, handling of the open
objection, forbidden promises, close and follow-up. Amounts are parsed from the line (元 / 块 /
yuan, 每月 / a month, N 个月 / N months); the customer's own prepayment is not a retention cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Each pattern is matched against the lower-cased line (Chinese is unaffected).
_P = {
    "greeting": r"您好|你好|喂|早上好|下午好|\bhello\b|\bhi\b|good (?:morning|afternoon|evening)",
    "self_intro": r"我是|这里是|我叫|\bthis is\b|\bi'?m\b|\bi am\b|my name is|calling from",
    "work_number": r"工号\s*[:：]?\s*[a-z]?\d|(?:work|staff|employee|agent) (?:number|no\.?|id)\s*(?:is\s*)?[a-z]?\d",
    "convenient": r"方便|有空|打扰您几分钟|good time|convenient|a few minutes|got a minute",
    "verification": (
        r"本人|机主|核实.{0,4}身份|确认.{0,6}身份|身份证后|尾号.{0,12}(?:吗|是您|机主|本人)|请问是.{1,6}(?:先生|女士)"
        r"|account holder|confirm (?:that )?(?:you|your identity|i'?m speaking)|verify (?:your|that)"
        r"|am i speaking (?:with|to)|is (?:this|that) (?:mr|ms|mrs|miss)\b|security question"
    ),
    "empathy": (
        r"理解|明白您|抱歉|对不起|不好意思|给您添麻烦|辛苦|感谢您.{0,8}(?:支持|告诉|耐心|信任|反馈)|谢谢您.{0,8}(?:支持|告诉|耐心|信任)"
        r"|很感谢|非常感谢|谢谢您一直|换作是我|确实.{0,4}(?:不方便|着急|烦)|\bunderstand\b|\bsorry\b|apologi[sz]e|appreciate|i hear you|that must be"
        r"|thank you for (?:telling|your patience|being|your loyalty|staying|sticking)|frustrat"
    ),
    "question": r"[?？]|吗$|吗[，。,]|呢[？?。]?$",
    "needs": (
        r"用得|平时|主要|套餐|流量|通话|原因|不满|哪方面|哪里|打算|考虑|需要|为什么|什么情况|怎么样|不顺|习惯|花费|消费"
        r"|\buse\b|\busing\b|usage|\bplan\b|\bdata\b|\bcalls?\b|reason|\bwhy\b|what made|\bneed|happy|thinking|matters?"
        r"|how (?:are|is|do|have)|what (?:do|would|is)|tell me"
    ),
    "offer": (
        r"送|赠|补贴|减免|折扣|返还|礼包|推荐您|给您推荐|为您准备|可以给您|给您申请|存费送费|话补|机补|积分兑换|换机|升级|融合|组合|迁移"
        r"|\boffer (?:you|is)|we can offer|bonus|subsidy|discount|recommend|set up .{0,20}for you|\bgift|free (?:data|trial|minutes|credit)|bundle"
    ),
    "base_price_cut": (
        r"(?:套餐|月租|月费|基本资费|资费|基础费|功能费).{0,6}(?:降|打折|打.折|减半|便宜|直降|下调)|降价|降低(?:月租|月费|资费|套餐)"
        r"|(?:cut|lower|reduce|drop|slash|halve|discount)(?:s|ing)? (?:your |the )?(?:base |basic |monthly |plan )+(?:price|fee|rate|tariff)"
        r"|(?:base|basic|plan|monthly) (?:price|fee|rate|tariff) (?:cut|reduction|down)|price cut|\d+% off (?:your|the) (?:plan|monthly|base)"
    ),
    "forever": (
        r"永久|终身|一直有效|永远|无限期|不限期|长期有效|一辈子|随便用"
        r"|forever|for life|lifetime|permanent|never expires?|unlimited (?:discount|credit|data for free)|for as long as you"
    ),
    "policy_forbidden": (
        r"免(?:除|掉|收)?违约金|不收违约金|违约金.{0,4}(?:不用|免|不收|算了)|保证.{0,8}(?:修好|解决|不会再)|明天就(?:能)?修好|\d+天内(?:一定|保证)"
        r"|我(?:私下|个人)|先答应您.{0,8}再|不用签.{0,4}(?:也|照样)能|所有优惠都给您"
        r"|waive (?:the |your )?(?:early )?(?:termination|breach|cancellation)|no (?:termination|breach) fee|guarantee .{0,30}(?:fixed|sorted|never)"
        r"|fixed by (?:tomorrow|monday|tuesday|wednesday|thursday|friday)|make an exception just for you|between (?:you and me|us)"
        r"|all (?:of )?the offers at once"
    ),
    "run_down_rival": (
        r"(?:他们|别家|那家|对方|人家).{0,8}(?:很差|太差|垃圾|骗人|不靠谱|坑人|坑|烂)"
        r"|(?:they|their network|their service|the other (?:company|operator)) (?:is|are) (?:rubbish|terrible|a scam|awful|worse|useless)"
    ),
    "asks_switched": r"是不是换号|换号了吗|是不是要转网|是不是不用了|have you switched (?:numbers|to)|are you (?:leaving|switching) us",
    "close": (
        r"帮您(?:登记|办理|办|开通|申请)|现在就(?:办|登记|开通)|确认办理|办好后|那就这么定|给您办上|您看.{0,6}(?:可以|行|好)吗"
        r"|\bregister\b|sign you up|set (?:it|that|this) up|shall i|go ahead|put (?:it|that) through|get (?:it|that) started"
    ),
    "follow_up": (
        r"(?:约|回电|再打|跟进|回访|联系您).{0,10}(?:时间|什么时候|几点|明天|下周|后天)|(?:什么时候|几点|哪天).{0,6}(?:方便|回电|联系|打给)"
        r"|call you (?:back|again)|follow (?:up|you up)|(?:what|which) (?:time|day) (?:suits|works|is good)|when would (?:suit|be good|work)"
        r"|tomorrow at|next week"
    ),
    "farewell": r"再见|祝您|拜拜|感谢您的(?:耐心|时间)|goodbye|\bbye\b|have a (?:good|nice|great)|thank you for your time|take care",
    "log": r"记录|记下|登记下来|备注|note (?:it|that|this) down|\blog\b|make a note|record",
    "vip": r"重要客户|vip|贵宾|尊贵|专属|老客户|valued|priority|premium|loyal customer|long-standing",
}
RX = {name: re.compile(pattern, re.I) for name, pattern in _P.items()}

# Scenario lexicons: does the trainee treat the call as the right kind of call?
SCENARIO_WORDS = {
    "renewal": r"到期|续约|续签|协议期满|合约期满|renew|contract (?:ends|is ending|expir)|agreement (?:ends|is ending|expir)|expir",
    "silent": r"好久没用|很久没用|沉默|激活|没怎么用|不怎么用|用得少|没有通话|没在用|不常用|haven'?t used|not (?:been )?using|silent|reactivat|dormant|been quiet|not used (?:it|this number) much",
    "port_out": r"销号|转网|携号转网|拆机|离网|想离开|想换|换到别家|cancel (?:your|the|this) number|port(?:ing)? (?:out|your number)|switch(?:ing)? (?:to|operator)|leav(?:e|ing) us|leaving|want(?:ing)? to change|move (?:your|the) number",
    "campus": r"学校|校园|同学|学生|宿舍|campus|school|student|dorm",
    "complaint_recovery": r"投诉|反映的问题|反映过|上次的问题|complain|you reported|the problem you",
    "new_customer": r"刚入网|新入网|新开户|刚办的|用得习惯|joined us (?:recently|last)|new customer|settling in|just joined",
    "routine": r"问候|关怀|回馈|check(?:ing)? in|how things are going|say thank you",
}
SCENARIO_RX = {name: re.compile(pattern, re.I) for name, pattern in SCENARIO_WORDS.items()}

_AMOUNT = re.compile(r"(?:¥|rmb\s*|cny\s*)?(\d+(?:\.\d+)?)\s*(?:元|块钱|块|-?\s*yuan|rmb|cny)|¥\s*(\d+(?:\.\d+)?)", re.I)
_MONTHS = re.compile(r"(\d+)\s*(?:个月|个月份|-?\s*months?)", re.I)
_MONTHLY_BEFORE = re.compile(r"(?:每月|每个月|按月|月均)[^\d，,。；;]{0,6}$", re.I)
_MONTHLY_AFTER = re.compile(
    r"^[^\d,.;，。；]{0,20}?(?:/\s*月|每月|每个月|a month|per month|/\s*month|monthly|each month|every month)", re.I)
_COST_VERB = re.compile(
    r"送|赠|补贴|补|返|减免|减|优惠|折扣|免|抵扣|奖励|礼品|红包|credit|bonus|subsid|\boff\b|discount|free|gift|rebate|reward|back|waive|give|get you|return|worth|价值",
    re.I)
_CUSTOMER_MONEY = re.compile(
    r"预存|充值|充|存|交|缴|消费|花|月费是|月租是|arpu|prepay|top[- ]?up|deposit|you pay|you spend|your bill|spend of|spending", re.I)


@dataclass
class Amounts:
    """Retention money a line promises: per month, once, and for how many months."""

    monthly: float = 0.0
    one_off: float = 0.0
    months: int | None = None

    @property
    def total(self) -> float:
        """One-off plus monthly x months (a month when the length is not said)."""
        return self.one_off + self.monthly * (self.months or 1)

    @property
    def any(self) -> bool:
        """True when the line promises money."""
        return self.monthly > 0 or self.one_off > 0


def parse_amounts(line: str) -> Amounts:
    """The retention cost a line promises; the customer's own prepayment and spend are not costs."""
    out = Amounts()
    text = line.lower()
    months = [int(m.group(1)) for m in _MONTHS.finditer(text)]
    out.months = max(months) if months else None
    for match in _AMOUNT.finditer(text):
        value = float(match.group(1) or match.group(2))
        before = text[max(0, match.start() - 16):match.start()]
        after = text[match.end():match.end() + 24]
        if _CUSTOMER_MONEY.search(before[-6:]) and not _COST_VERB.search(before[-3:]):
            continue
        if not (_COST_VERB.search(before) or _COST_VERB.search(after)):
            continue
        if _MONTHLY_BEFORE.search(before) or _MONTHLY_AFTER.search(after):
            out.monthly += value
        else:
            out.one_off += value
    return out


@dataclass
class LineMoves:
    """The moves one trainee line makes."""

    text: str
    moves: set[str] = field(default_factory=set)
    amounts: Amounts = field(default_factory=Amounts)
    scenarios: set[str] = field(default_factory=set)

    def has(self, *names: str) -> bool:
        """True when the line makes any of these moves."""
        return any(n in self.moves for n in names)


_NEGATED = re.compile(
    r"(?:rather than|instead of|not|no|without|never|isn'?t|won'?t)\s+(?:just\s+)?(?:a\s+|the\s+)?(?:price cut|cut(?:ting)? (?:the|your) price)"
    r"|不(?:是|用|靠|直接)?(?:降价|打折)|不在价格上让步", re.I)
PROPOSE = re.compile(
    r"帮您|给您|为您|帮你|给你|可以|推荐|建议|\blet me\b|\bi can\b|\bwe can\b|\bi'?d\b|\bi will\b|\bi'?ll\b|\bwe'?ll\b|how about|suggest",
    re.I)


def strip_negated(text: str) -> str:
    """The text without negated price cuts ("rather than a price cut", "不降价")."""
    return _NEGATED.sub(" ", text.lower())


def read_line(text: str) -> LineMoves:
    """Detect the moves of one trainee line."""
    low = _NEGATED.sub(" ", text.lower().strip())
    moves = {name for name, rx in RX.items() if rx.search(low)}
    if "greeting" in moves and "self_intro" not in moves:
        moves.discard("greeting")  # "您好" alone is politeness, the standard greeting names the caller
    if "question" in moves and "needs" in moves and not moves & {"verification", "close"}:
        moves.add("probing")
    amounts = parse_amounts(low)
    if amounts.any:
        moves.add("offer")
    if moves & {"base_price_cut"}:
        moves.add("offer")
    scenarios = {name for name, rx in SCENARIO_RX.items() if rx.search(low)}
    return LineMoves(text=text, moves=moves, amounts=amounts, scenarios=scenarios)


def matches_any(text: str, patterns: list[str]) -> bool:
    """True when the text matches one of the (case-insensitive) patterns."""
    low = text.lower()
    return any(re.search(p, low, re.I) for p in patterns)
