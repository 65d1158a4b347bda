"""The words the offline report parser knows: metric, dimension, filter and value phrasings (zh and en).

Patterns run on the question's index form (simplified Chinese, NFKC, lower case). Order matters in
METRIC_PATTERNS: longer, more specific phrasings come first and consume their text, so 次月续约率 is
not read again as 续约率 and 平均流失概率 not as 流失.
"""

from __future__ import annotations

from tools.reports.spec import Dimension, Metric

M, D = Metric, Dimension

METRIC_PATTERNS: list[tuple[Metric, str]] = [
    (M.training_score, r"(?:训练|练习|培训|角色扮演|陪练|演练)(?:平均)?(?:得分|分数|成绩|评分)|"
                       r"(?:training|practice|role[- ]?play)(?: session)? (?:scores?|grades?|marks?)"),
    (M.training_sessions, r"(?:训练|练习|培训|角色扮演|陪练|演练)(?:次数|场次|会话数|数量)|"
                          r"(?:number of |how many )?(?:training|practice|role[- ]?play) sessions?|"
                          r"(?:training|practice|role[- ]?play) session counts?"),
    (M.cost_per_retained, r"单位挽留成本|单位维系成本|每挽留一[户个人]\S{0,4}成本|挽留一[户个人]\S{0,3}(?:成本|花费)|"
                          r"cost per (?:retained|saved?|retention|win-?back)(?: subscriber| customer| user)?|"
                          r"(?:unit|per-save) retention cost|cost of each (?:save|retained subscriber)"),
    (M.renewal_rate_month_after, r"次次月续约率?|续约率?[（(]?次次月[)）]?|"
                                 r"renewal(?: rate)?s? (?:by|within|including) (?:the )?month after next|"
                                 r"month[- ]after[- ]next renewal(?: rate)?"),
    (M.renewal_rate_next_month, r"次月续约率?|续约率?[（(]?次月[)）]?|"
                                r"renewal(?: rate)?s? (?:by|within|including) (?:the )?next month|"
                                r"next[- ]month renewal(?: rate)?"),
    (M.renewal_rate, r"当月续约率|续约率|续签率|续约|(?:same[- ]month )?renewal rates?|renew(?:al)?s?(?![a-z])|renewed"),
    (M.retention_success_rate, r"挽留成功率|维系成功率|挽留率|挽留成功|挽回率|"
                               r"retention success(?: rates?)?|save rates?|win-?back rates?|"
                               r"success(?:ful)? (?:rate )?(?:of )?retention|retention (?:success|win) rate"),
    (M.reach_rate, r"到达率|触达率|接通率|reach rates?|contact rates?|reach(?![a-z])"),
    (M.silent_activation_rate, r"沉默(?:客户|用户)?激活率|沉默激活|激活率|"
                               r"silent(?: customer| subscriber| user)?s? (?:re)?activation(?: rates?)?|"
                               r"(?:re)?activation rates?"),
    (M.high_risk_count, r"高危(?:客户|用户)?(?:数量|数|人数|户数|有多少|多少)|多少(?:个|户|名)?高危|高风险(?:客户|用户)?(?:数量|数|人数)|"
                        r"高危客户有几|(?:how many|number of|count of) high[- ]risk(?: subscribers| customers| users)?|"
                        r"high[- ]risk (?:subscriber |customer )?(?:count|number|numbers|headcount)"),
    (M.mean_predicted_risk, r"平均(?:预测)?(?:流失|离网)(?:概率|风险|可能性)|平均风险(?:分|值)?|平均预测风险|预测(?:流失|离网)概率|"
                            r"(?:mean|average|avg\.?) (?:predicted )?(?:churn )?(?:risk|probability|churn probability)|"
                            r"predicted (?:churn )?(?:risk|probability)"),
    (M.churn_rate, r"流失率|离网率|流失|离网|churn rates?|attrition(?: rates?)?|churn(?:ed|ing)?(?![a-z])"),
    (M.arpu, r"(?<![a-z])arpu(?![a-z])|户均收入|平均收入|average revenue(?: per user)?"),
    (M.retention_cost, r"维系成本|挽留成本|维系费用|维系花费|维系支出|挽留费用|成本|花费|花了多少钱?|"
                       r"retention (?:cost|spend|spending|money|budget spent)s?|"
                       r"(?<![a-z])(?:costs?|spend|spending|spent)(?![a-z])"),
    (M.contacts, r"接触(?:数|量|次数)|外呼(?:量|数|次数)|联系(?:次数|量)|维系(?:次数|量)|"
                 r"(?:number of |how many )?contacts(?![a-z])|calls made|contact count"),
    (M.subscribers, r"客户数|用户数|客户量|用户量|在网(?:客户|用户)数?|多少(?:个|户|名)?(?:客户|用户)|"
                    r"(?:number of|how many|count of) (?:subscribers|customers|users)|"
                    r"(?:subscriber|customer|user)s? counts?|headcount|base size"),
]

# Dimension words (after a grouping trigger such as 按 / 各 / by / per / which).
DIMENSION_WORDS: list[tuple[Dimension, str]] = [
    (D.value_tier, r"价值等级|价值层级|价值分层|价值档次|客户等级|价值|层级|等级|"
                   r"value[- ]tiers?|value segments?|value bands?|value levels?|customer value|tiers?"),
    (D.lifecycle_stage, r"生命周期(?:阶段)?|周期阶段|阶段|life[- ]?cycle(?: stages?)?|stages?"),
    (D.risk_label, r"风险(?:等级|标签|级别|分层|类别)?|危险等级|"
                   r"risk (?:labels?|levels?|bands?|groups?|categor(?:y|ies)|class(?:es)?)|risk"),
    (D.brand, r"品牌|brands?"),
    (D.plan, r"套餐(?:类型|类别)?|资费|plan(?: types?)?s?|tariffs?|packages?"),
    (D.tenure_band, r"网龄(?:段|区间|分段)?|在网时长|入网时长|tenure(?: bands?| groups?| buckets?)?"),
    (D.region, r"地区|区域|省份|省|地市|分公司|regions?|provinces?|areas?"),
    (D.channel, r"接触渠道|触达渠道|渠道|(?:contact )?channels?"),
    (D.agent, r"坐席|维系经理|客户经理|经理|员工|人员|工号|agents?|reps?|staff|(?:retention )?managers?|employees?"),
    (D.month, r"月份|月度|月|months?|monthly"),
    (D.scenario, r"维系场景|挽留场景|练习场景|训练场景|场景|scenarios?"),
    (D.trainee, r"学员|受训人员?|培训人员|练习人员?|trainees?|learners?"),
]

# A dimension word counts only in a grouping context: right after one of these ...
GROUP_BEFORE_ZH = (r"(?:按照?|根据|分|各|每个?|逐|不同|哪个|哪些|哪|以|前\s*\d+\s*(?:名|个|位|家)?\s*的?|"
                   r"(?:下降|下滑|上升|增长|提升|降幅|跌幅|增幅|涨幅)(?:最大|最多|最快)?的?\s*"
                   r"(?:(?:\d+|[一二两三四五六七八九十]+)\s*(?:名|个|位|家))?|"
                   r"(?:最高|最低|最多|最少|最好|最差)的?\s*(?:(?:\d+|[一二两三四五六七八九十]+)\s*(?:名|个|位|家))?)"
                   r"(?:不同的?|各个?|每个)?")
GROUP_BEFORE_EN = (r"(?:by|per|across|for each|each|which|what|among|between|for every|every|\d+|"
                   r"top \d+|bottom \d+|best \d+|worst \d+|\d+ (?:best|worst|highest|lowest))"
                   r"(?: the)?(?: different| each| individual)?")
# ... or right before one of these.
GROUP_AFTER = (r"(?:分布|对比|排名|排行|维度|拆分|明细|之间|"
               r"[- ]?breakdown|[- ]?split|[- ]?wise|[- ]by[- ]|distribution|comparison|ranking)")
CHAIN = r"(?:和|与|及|以及|、|,|，|/|x|×|and|then|plus|&)\s*(?:按|分|by|per)?\s*"

# Phrases that mean "over months" on their own.
MONTH_TREND = r"趋势|走势|逐月|按月|每月|各月|月度变化|月度|trend|month[- ]by[- ]month|monthly|each month|per month|over (?:the )?months"

# Filter values: (field, value, pattern). Value tiers, risk labels and lifecycle stages use the codes
# of tools/rules.py.
FILTER_WORDS: list[tuple[Dimension, str | list[str], str]] = [
    (D.value_tier, ["high", "medium"],
     r"中高端|中高价值|mid[/ -]?(?:and[ -])?high[- ]value|medium and high[- ]value|high and medium[- ]value"),
    (D.value_tier, "high", r"高价值|高端客户|高端用户|high[- ]value|top[- ]tier|high[- ]tier"),
    (D.value_tier, "medium", r"中价值|中端客户|中端用户|medium[- ]value|mid[- ]value|medium[- ]tier"),
    (D.value_tier, "low", r"低价值|低端客户|低端用户|low[- ]value|low[- ]tier"),
    (D.value_tier, "group", r"集团客户|政企客户|group customers?|corporate customers?|enterprise customers?"),
    (D.risk_label, "high", r"高危|高风险|high[- ]risk"),
    (D.risk_label, "medium", r"中危|中风险|medium[- ]risk"),
    (D.risk_label, "low", r"低危|低风险|low[- ]risk"),
    (D.lifecycle_stage, "identification", r"识别期|入网期|identification stage|onboarding stage"),
    (D.lifecycle_stage, "growth", r"成长期|growth stage"),
    (D.lifecycle_stage, "stable", r"稳定期|成熟期|stable stage|matur(?:e|ity) stage"),
    (D.lifecycle_stage, "warning", r"预警期|衰退期|warning stage|decline stage"),
    (D.lifecycle_stage, "sunk", r"沉没期|sunk stage"),
    (D.plan, "converged", r"融合套餐|融合|converged(?: plans?| bundles?)?|bundle plans?"),
    (D.plan, "single", r"单产品套餐?|单一套餐|single[- ]product(?: plans?)?"),
    (D.scenario, "port_out", r"携号转网|拆机转网|port[- ]?outs?"),
    (D.scenario, "campus", r"校园(?:场景|客户)?|campus"),
    (D.scenario, "complaint_recovery", r"投诉修复|complaint recovery"),
    (D.channel, "outbound_call", r"外呼渠道|电话渠道|outbound calls?|phone channel"),
    (D.channel, "sms", r"短信渠道|sms channel|by sms|via sms"),
    (D.channel, "store", r"营业厅|门店渠道|in[- ]store|store channel"),
    (D.channel, "app", r"app渠道|手机营业厅|via (?:the )?app|app channel"),
    (D.channel, "wechat", r"微信渠道|微信|wechat"),
    (D.channel, "home_visit", r"上门拜访|上门|home visits?"),
]

PROVINCES = {
    "北京": "beijing", "天津": "tianjin", "上海": "shanghai", "重庆": "chongqing", "河北": "hebei",
    "山西": "shanxi", "辽宁": "liaoning", "吉林": "jilin", "黑龙江": "heilongjiang", "江苏": "jiangsu",
    "浙江": "zhejiang", "安徽": "anhui", "福建": "fujian", "江西": "jiangxi", "山东": "shandong",
    "河南": "henan", "湖北": "hubei", "湖南": "hunan", "广东": "guangdong", "海南": "hainan",
    "四川": "sichuan", "贵州": "guizhou", "云南": "yunnan", "陕西": "shaanxi", "甘肃": "gansu",
    "青海": "qinghai", "台湾": "taiwan", "内蒙古": "inner mongolia", "广西": "guangxi", "西藏": "tibet",
    "宁夏": "ningxia", "新疆": "xinjiang", "香港": "hong kong", "澳门": "macau",
}
BRANDS = {"如意通": "ruyitong", "新时空": "xinshikong", "世界风": "shijiefeng", "UP新势力": "up xinshili",
          "全球通": "gotone", "神州行": "shenzhouxing", "动感地带": "m-zone"}

# Rates where a higher value is better: "worst N" sorts them ascending.
HIGHER_IS_BETTER = {M.retention_success_rate, M.renewal_rate, M.renewal_rate_next_month,
                    M.renewal_rate_month_after, M.reach_rate, M.silent_activation_rate, M.arpu,
                    M.training_score}

METRIC_NAMES: dict[Metric, tuple[str, str]] = {
    M.churn_rate: ("流失率", "churn rate"), M.retention_success_rate: ("挽留成功率", "retention success rate"),
    M.renewal_rate: ("当月续约率", "same-month renewal rate"),
    M.renewal_rate_next_month: ("次月续约率", "renewal rate by next month"),
    M.renewal_rate_month_after: ("次次月续约率", "renewal rate by the month after next"),
    M.reach_rate: ("到达率", "reach rate"), M.silent_activation_rate: ("沉默激活率", "silent activation rate"),
    M.high_risk_count: ("高危客户数", "high-risk subscribers"),
    M.mean_predicted_risk: ("平均预测流失概率", "mean predicted churn risk"), M.arpu: ("ARPU", "ARPU"),
    M.retention_cost: ("维系成本", "retention cost"), M.cost_per_retained: ("单位挽留成本", "cost per retained subscriber"),
    M.subscribers: ("客户数", "subscribers"), M.contacts: ("接触数", "contacts"),
    M.training_score: ("训练得分", "training score"), M.training_sessions: ("练习次数", "practice sessions"),
}

# Period-over-period comparison (ReportSpec.compare). These run before the time phrases, so 比上月 /
# 去年同期 / compared with last month name the comparison, not the period.
_LAST_ZH = r"上一?个?(?:月|季度?|期|周期)"
_LAST_EN = r"(?:the )?(?:last|previous|prior|preceding) (?:month|quarter|period)"
_SAME_EN = r"(?:the )?same (?:month|quarter|period|time)(?: of| in)? (?:last|the previous|the prior) year"
COMPARE_PREVIOUS_YEAR = (r"同比|(?:比|较|与|和|跟|对比)?去年同期(?:相比|比较|对比|比)?|"
                         rf"year[- ]on[- ]year|year[- ]over[- ]year|(?<![a-z])yoy(?![a-z])|"
                         rf"(?:compared (?:with|to)|versus|vs\.?|against|relative to) {_SAME_EN}|{_SAME_EN}")
COMPARE_PREVIOUS_PERIOD = (rf"环比|(?:比|较|与|和|跟|对比)\s*{_LAST_ZH}(?:相比|比较|对比|比)?|"
                           rf"(?:compared (?:with|to)|versus|vs\.?|against|relative to|over) {_LAST_EN}|"
                           r"(?:month|quarter|period)[- ]on[- ](?:month|quarter|period)|"
                           r"(?:month|quarter|period)[- ]over[- ](?:month|quarter|period)|(?<![a-z])(?:mom|qoq)(?![a-z])")
# Said of a quarter: with no period named, the comparison is this quarter against the one before.
COMPARE_QUARTER = r"季度|quarter"
# Which way the first metric moved: the largest fall first, or the largest rise first (sorted by its change).
_MOST_ZH = r"(?:了)?(?:得)?(?:最多|最大|最快|最厉害|最严重|最明显)?(?:了)?"
_MOST_EN = r"(?: the)?(?: most| furthest| fastest| hardest)?"
FALL_WORDS = (rf"(?:下降|下滑|降低|减少|下跌|跌){_MOST_ZH}|(?:降幅|跌幅|下降幅度|下滑幅度)最大|"
              rf"(?<![a-z])(?:fell|fallen|dropped|declined|decreased|went down|slipped){_MOST_EN}(?![a-z])|"
              r"(?:biggest|largest|steepest|sharpest) (?:falls?|drops?|declines?|decreases?)")
RISE_WORDS = (rf"(?:上升|增长|增加|提升|提高|上涨|涨){_MOST_ZH}|(?:增幅|涨幅|升幅|增长幅度|提升幅度)最大|"
              rf"(?<![a-z])(?:rose|risen|grew|grown|increased|improved|went up|climbed){_MOST_EN}(?![a-z])|"
              r"(?:biggest|largest|sharpest) (?:rises?|increases?|gains?|improvements?|growth)")
