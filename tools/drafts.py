"""Offer drafts: SMS, e-mail and in-call wording for one offer, in Chinese or English.

Drafts are personalised with the subscriber's facts (masked number, tenure, plan, contract end,
points) and the offer's own terms (what the customer gets, conditions, validity). They invent
nothing: every number in a draft comes from the offer or the facts, and the full phone number
never appears. Placeholder amounts of the catalogue are flagged for the agent, not sent as such.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from tools.schemas import Offer, Segmentation, SubscriberSnapshot

Lang = Literal["zh", "en"]
Channel = Literal["sms", "email", "call"]
SMS_LIMIT = {"zh": 70, "en": 160}  # one SMS segment: 70 Chinese or 160 GSM characters
_PHONE = re.compile(r"^\+?(?:86)?(1\d{10})$")
# Internal labels in catalogue titles that a customer should never hear ("you are a silent customer").
_INTERNAL_TAG = re.compile(r"\s*[（(](?:沉默激活|silent reactivation)[）)]", re.IGNORECASE)
_PLACEHOLDER_NOTE = re.compile(r"\s*[（(][^（）()]*(?:占位|placeholder)[^（）()]*[）)]", re.IGNORECASE)


def mask_number(number: str | None) -> str | None:
    """138****5678 for a full mobile number; anything already masked is kept."""
    if not number:
        return None
    digits = re.sub(r"[\s-]", "", str(number))
    full = _PHONE.match(digits)
    if full:
        d = full.group(1)
        return f"{d[:3]}****{d[-4:]}"
    if re.fullmatch(r"\d{7,}", digits):  # any other long digit string: hide the middle too
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    return str(number)


def n(value: float | int | None) -> str:
    """A number as customers read it: 19, 12.5 (no trailing zeros)."""
    return "" if value is None else f"{float(value):.2f}".rstrip("0").rstrip(".")


class SubscriberFacts(BaseModel):
    """What the drafts and scripts may say about a subscriber; the number is only ever masked."""

    masked_msisdn: str | None = Field(None, description="138****5678; a full number is masked on input.")
    name: str | None = Field(None, description="Surname or full name, when known.")
    gender: Literal["m", "f"] | None = None
    tenure_months: int | None = Field(None, ge=0)
    plan_name: str | None = None
    plan_fee: float | None = Field(None, ge=0)
    arpu: float | None = Field(None, ge=0, description="3-month average monthly spend (yuan).")
    value_tier: str | None = None
    vip_level: str | None = None
    contract_end_date: dt.date | None = None
    contract_end_in_days: int | None = None
    points_balance: float | None = Field(None, ge=0)

    @field_validator("masked_msisdn", mode="before")
    @classmethod
    def _mask(cls, value: object) -> object:
        return mask_number(value) if isinstance(value, str) else value

    def addressee(self, lang: Lang) -> str | None:
        """张先生 / Mr Zhang for spoken lines; None when the name is unknown."""
        if not self.name:
            return None
        if lang == "zh":
            return self.name + {"m": "先生", "f": "女士"}.get(self.gender or "", "")
        return {"m": "Mr ", "f": "Ms "}.get(self.gender or "", "") + self.name

    def salutation(self, lang: Lang) -> str:
        """尊敬的张先生 / Dear Mr Zhang, or a neutral form when the name is unknown."""
        who = self.addressee(lang)
        if lang == "zh":
            return f"尊敬的{who}" if who else "尊敬的客户"
        return f"Dear {who}" if who else "Dear customer"

    @property
    def last4(self) -> str | None:
        """The last four digits of the masked number."""
        m = re.search(r"(\d{4})$", self.masked_msisdn or "")
        return m.group(1) if m else None

    def numbers(self) -> set[float]:
        """Every number these facts may put into a text (for 'no invented number' checks)."""
        out: set[float] = set()
        for v in (self.tenure_months, self.plan_fee, self.arpu, self.points_balance,
                  self.contract_end_in_days):
            if v is not None:
                out.update({round(float(v), 2), float(round(v))})
        for text in (self.masked_msisdn, self.plan_name):
            out.update(float(d) for d in re.findall(r"\d+", text or ""))
        if self.contract_end_date:
            d = self.contract_end_date
            out.update({float(d.year), float(d.month), float(d.day), float(f"{d:%Y%m%d}"), float(f"{d:%m%d}")})
        return out


def build_facts(
    source: Any, segmentation: Segmentation | None = None, *, as_of: dt.date | None = None,
    name: str | None = None,
) -> SubscriberFacts:
    """SubscriberFacts from a stored Subscriber, a SubscriberSnapshot, a dict or existing facts."""
    if isinstance(source, SubscriberFacts):
        facts = source
    elif isinstance(source, SubscriberSnapshot):
        days = source.contract_end_in_days
        end = (as_of + dt.timedelta(days=days)) if (as_of and days is not None) else None
        facts = SubscriberFacts(
            tenure_months=int(source.tenure_months), arpu=source.arpu_3m_avg, contract_end_in_days=days,
            contract_end_date=end, points_balance=source.points_balance,
        )
    elif isinstance(source, dict):
        facts = SubscriberFacts.model_validate(source)
    elif hasattr(source, "subscriber_id") and hasattr(source, "masked_msisdn"):  # tools.subscriber_schema.Subscriber
        end, ref = source.contract_end_date, as_of or source.snapshot_date
        facts = SubscriberFacts(
            masked_msisdn=source.masked_msisdn, gender=source.gender, tenure_months=source.tenure_months,
            plan_name=source.plan_id, plan_fee=source.plan_fee, arpu=source.arpu_3m_avg,
            vip_level=source.vip_level, contract_end_date=end,
            contract_end_in_days=(end - ref).days if (end and ref) else None,
            points_balance=source.points_balance,
        )
    else:
        raise TypeError(f"cannot build subscriber facts from a {type(source).__name__}")
    updates: dict[str, Any] = {}
    if segmentation is not None and facts.value_tier is None:
        updates["value_tier"] = segmentation.value_tier.code
    if name and not facts.name:
        updates["name"] = name
    return facts.model_copy(update=updates) if updates else facts


class OfferDraft(BaseModel):
    """One ready-to-review message for one offer on one channel."""

    channel: Channel
    lang: Lang
    measure_code: str
    subject: str | None = Field(None, description="E-mail subject.")
    body: str
    length: int = Field(..., description="Characters in the body.")
    within_limit: bool = Field(True, description="SMS: fits one segment (70 zh / 160 en characters).")
    placeholder_amounts: bool = Field(False, description="Amounts are catalogue placeholders: set them first.")
    notes: list[str] = Field(default_factory=list, description="For the agent, not the customer.")


class OfferWording(BaseModel):
    """The customer-facing parts of an offer in one language, used by drafts and call scripts."""

    title: str
    gets: str
    conditions: list[str] = Field(default_factory=list)
    validity_days: int | None = None
    placeholder: bool = False
    reminder: bool = Field(False, description="A payment reminder (collection), not an offer: worded as a notice.")


REMINDER_FAMILIES = frozenset({"collection_reminder"})


def offer_wording(offer: Offer, lang: Lang) -> OfferWording:
    """Title, what the customer gets, conditions and validity of an offer, without internal remarks."""
    title = _INTERNAL_TAG.sub("", offer.title_zh if lang == "zh" else offer.title_en).strip()
    terms = getattr(offer, "terms", None)
    if terms is None:  # a plain Offer: say only what its costs give the customer
        once, monthly = n(offer.one_off_cost), n(offer.monthly_cost)
        parts = []
        if offer.one_off_cost:
            parts.append(f"一次性优惠{once}元" if lang == "zh" else f"a one-off {once} yuan")
        if offer.monthly_cost:
            parts.append(f"每月优惠{monthly}元" if lang == "zh" else f"{monthly} yuan a month")
        gets = ("，" if lang == "zh" else " and ").join(parts) or title
        return OfferWording(title=title, gets=gets)
    zh = lang == "zh"
    gets = _PLACEHOLDER_NOTE.sub("", terms.customer_gets_zh if zh else terms.customer_gets_en).strip()
    conditions = [_PLACEHOLDER_NOTE.sub("", c).strip() for c in (terms.conditions_zh if zh else terms.conditions_en)]
    return OfferWording(
        title=title, gets=gets,
        conditions=[c for c in conditions if c and c not in gets],  # said once, not twice
        validity_days=terms.validity_days, placeholder=bool(terms.placeholder),
        reminder=getattr(offer, "family", "") in REMINDER_FAMILIES,
    )


def _sms(w: OfferWording, f: SubscriberFacts, lang: Lang) -> tuple[str, bool]:
    """One SMS; to fit a segment only the greeting and the thanks are dropped, never a condition."""
    if w.reminder:
        return _reminder_sms(w, f, lang)
    if lang == "zh":
        cond = f"（{'，'.join(w.conditions)}）" if w.conditions else ""
        parts = [
            f"{f.addressee('zh')}您好！" if f.addressee("zh") else "您好！",
            f"您的号码{f.masked_msisdn}" if f.masked_msisdn else "您",
            f"已在网{f.tenure_months}个月，感谢支持，" if f.tenure_months else "",
            f"现可办理{w.title}：{w.gets}{cond}",
            f"，{w.validity_days}天内有效" if w.validity_days else "",
            "。回复TD退订",
        ]
    else:
        cond = f" ({'; '.join(w.conditions)})" if w.conditions else ""
        parts = [
            f"Dear {f.addressee('en')}, " if f.addressee("en") else "Dear customer, ",
            f"your number {f.masked_msisdn}" if f.masked_msisdn else "you",
            f" ({f.tenure_months} months with us - thank you)" if f.tenure_months else "",
            f" can now get {w.title}: {w.gets}{cond}",
            f". Open for {w.validity_days} days" if w.validity_days else "",
            ". Reply STOP to opt out.",
        ]
    limit = SMS_LIMIT[lang]
    for optional in (2, 0):
        if len("".join(parts)) <= limit:
            break
        parts[optional] = "" if optional == 2 else ("" if lang == "zh" else "Dear customer, ")
    text = "".join(parts)
    return text, len(text) <= limit


def _reminder_sms(w: OfferWording, f: SubscriberFacts, lang: Lang) -> tuple[str, bool]:
    """A payment reminder: no thanks for loyalty, no "you can now get", just the notice and the ways
    to pay. To fit a segment the personal greeting goes first, then the "already paid" line."""
    if lang == "zh":
        number = f"您的号码{f.masked_msisdn}" if f.masked_msisdn else "您的账户"
        parts = [f"{f.addressee('zh')}您好！" if f.addressee("zh") else "您好！",
                 f"{number}目前有欠费，为免停机影响使用，请尽快缴费。{w.gets}。", "如已缴费请忽略。"]
        plain_greeting = "您好！"
    else:
        number = f"your number {f.masked_msisdn}" if f.masked_msisdn else "your account"
        parts = [f"Dear {f.addressee('en')}, " if f.addressee("en") else "Dear customer, ",
                 f"{number} has an overdue balance. To avoid suspension, please pay soon. {w.gets}.",
                 " If you have already paid, please ignore this message."]
        plain_greeting = "Dear customer, "
    limit = SMS_LIMIT[lang]
    for index, shorter in ((0, plain_greeting), (2, "")):
        if len("".join(parts)) <= limit:
            break
        parts[index] = shorter
    text = "".join(parts)
    return text, len(text) <= limit


def _date(d: dt.date, lang: Lang) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.isoformat()


def _context_zh(f: SubscriberFacts) -> list[str]:
    out = []
    if f.masked_msisdn and f.tenure_months:
        out.append(f"您的号码{f.masked_msisdn}已在网{f.tenure_months}个月，感谢您一直以来的支持。")
    elif f.masked_msisdn:
        out.append(f"感谢您使用号码{f.masked_msisdn}一直以来的支持。")
    if f.plan_name:
        out.append(f"您目前使用的是{f.plan_name}套餐" + (f"（月费{n(f.plan_fee)}元）。" if f.plan_fee else "。"))
    if f.contract_end_date:
        out.append(f"您当前的协议将于{_date(f.contract_end_date, 'zh')}到期。")
    elif f.contract_end_in_days is not None and f.contract_end_in_days >= 0:
        out.append(f"您当前的协议还有{f.contract_end_in_days}天到期。")
    return out


def _context_en(f: SubscriberFacts) -> list[str]:
    out = []
    if f.masked_msisdn and f.tenure_months:
        out.append(f"Your number {f.masked_msisdn} has been with us for {f.tenure_months} months - thank you for staying with us.")
    elif f.masked_msisdn:
        out.append(f"Thank you for staying with us on {f.masked_msisdn}.")
    if f.plan_name:
        out.append(f"You are on the {f.plan_name} plan" + (f" ({n(f.plan_fee)} yuan a month)." if f.plan_fee else "."))
    if f.contract_end_date:
        out.append(f"Your current agreement ends on {_date(f.contract_end_date, 'en')}.")
    elif f.contract_end_in_days is not None and f.contract_end_in_days >= 0:
        out.append(f"Your current agreement ends in {f.contract_end_in_days} days.")
    return out


def _email(w: OfferWording, f: SubscriberFacts, lang: Lang, points: bool) -> tuple[str, str]:
    if w.reminder:
        return _reminder_email(w, f, lang)
    if lang == "zh":
        subject = f"为您准备的{w.title}方案" + (f"（号码{f.masked_msisdn}）" if f.masked_msisdn else "")
        lines = [f"{f.salutation('zh')}：", "", "您好！" + "".join(_context_zh(f)), "",
                 f"根据您的使用情况，我们为您准备了{w.title}：", f"- 您将获得：{w.gets}"]
        lines += [f"- 办理条件：{'；'.join(w.conditions)}"] if w.conditions else []
        lines += [f"- 办理期限：本方案自通知之日起{w.validity_days}天内可办理"] if w.validity_days else []
        if points and f.points_balance:
            lines.append(f"- 您目前的积分余额：{n(f.points_balance)}分")
        lines += ["", "如需办理或了解详情，请直接回复本邮件或联系您的服务经理。",
                  "如不希望再收到此类邮件，请回复“退订”。"]
        return subject, "\n".join(lines)
    subject = f"{w.title}: an offer for you" + (f" ({f.masked_msisdn})" if f.masked_msisdn else "")
    context = " ".join(_context_en(f))
    lines = [f"{f.salutation('en')},", "", *([context, ""] if context else []),
             f"Based on how you use our service, we have prepared {w.title} for you:",
             f"- What you get: {w.gets}"]
    lines += [f"- Conditions: {'; '.join(w.conditions)}"] if w.conditions else []
    lines += [f"- Open for {w.validity_days} days from this message"] if w.validity_days else []
    if points and f.points_balance:
        lines.append(f"- Your points balance: {n(f.points_balance)}")
    lines += ["", "To take it up or ask anything, reply to this e-mail or call your service manager.",
              "To stop receiving these e-mails, reply UNSUBSCRIBE."]
    return subject, "\n".join(lines)


def _reminder_email(w: OfferWording, f: SubscriberFacts, lang: Lang) -> tuple[str, str]:
    if lang == "zh":
        subject = "欠费缴费提醒" + (f"（号码{f.masked_msisdn}）" if f.masked_msisdn else "")
        number = f"您的号码{f.masked_msisdn}" if f.masked_msisdn else "您的账户"
        lines = [f"{f.salutation('zh')}：", "", f"您好！{number}目前有欠费，为免停机影响您的正常使用，请尽快缴费。",
                 "", f"- {w.gets}", *[f"- {c}" for c in w.conditions], "",
                 "如已缴费，请忽略本邮件；如有疑问，请直接回复本邮件或联系您的服务经理。"]
        return subject, "\n".join(lines)
    subject = "Payment reminder" + (f" ({f.masked_msisdn})" if f.masked_msisdn else "")
    number = f"your number {f.masked_msisdn}" if f.masked_msisdn else "your account"
    lines = [f"{f.salutation('en')},", "", f"This is a reminder that {number} has an overdue balance. "
             "To avoid a suspension of service, please pay soon.", "", f"- {w.gets}",
             *[f"- {c}" for c in w.conditions], "",
             "If you have already paid, please ignore this e-mail. For any question, reply to it or call "
             "your service manager."]
    return subject, "\n".join(lines)


def _call(w: OfferWording, f: SubscriberFacts, lang: Lang) -> str:
    if w.reminder:
        if lang == "zh":
            who = f.addressee("zh") or "您好"
            return (f"{who}，打扰您了。系统显示您的账户目前有欠费，为免停机影响使用，想提醒您尽快缴费。"
                    f"{w.gets}。您看什么时候方便缴一下？需要我告诉您缴费方式吗？")
        who = f.addressee("en")
        text = ((f"{who}, " if who else "") + "sorry to trouble you. Our records show an overdue balance on "
                f"your account, and I'd like to help you avoid a suspension. {w.gets}. When would be a good "
                "time to pay? Shall I walk you through the ways to pay?")
        return _first_upper(text)
    if lang == "zh":
        who = f.addressee("zh") or "您"
        text = f"{who}，" + (f"您在网已经{f.tenure_months}个月了，非常感谢您的支持。" if f.tenure_months else "非常感谢您的支持。")
        text += f"根据您现在的使用情况，我们为您准备了{w.title}：{w.gets}。"
        if w.conditions:
            text += f"需要跟您说清楚的条件是：{'；'.join(w.conditions)}。"
        if w.validity_days:
            text += f"这个方案{w.validity_days}天内都可以办理。"
        return text + "您看需要我现在帮您办理吗？"
    who = f.addressee("en")
    text = (f"{who}, " if who else "") + (f"you've been with us for {f.tenure_months} months - thank you. "
                                          if f.tenure_months else "Thank you for staying with us. ")
    text += f"Based on how you use your phone, we've prepared {w.title} for you: {w.gets}. "
    if w.conditions:
        text += f"To be clear about the conditions: {'; '.join(w.conditions)}. "
    if w.validity_days:
        text += f"You can take it up any time in the next {w.validity_days} days. "
    return _first_upper(text + "Would you like me to set it up for you now?")


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def draft_offer_messages(
    offer: Offer, facts: SubscriberFacts, lang: Lang = "zh",
    channels: Sequence[Channel] = ("sms", "email", "call"),
) -> list[OfferDraft]:
    """SMS, e-mail and in-call wording for one offer, personalised with the subscriber's facts."""
    if lang not in SMS_LIMIT:
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    w = offer_wording(offer, lang)
    points = getattr(offer, "family", "") == "points_redemption" or offer.measure_code == "RM001"
    notes = []
    if w.placeholder:
        notes.append("金额为运营商占位值，发送前请按当地政策核对" if lang == "zh"
                     else "Amounts are operator placeholders: check them against local policy before sending")
    drafts = []
    for channel in channels:
        subject, extra = None, []
        if channel == "sms":
            body, ok = _sms(w, facts, lang)
            if not ok:
                extra.append(f"短信超过{SMS_LIMIT[lang]}字，将分条发送" if lang == "zh"
                             else f"longer than {SMS_LIMIT[lang]} characters: sent as several segments")
        elif channel == "email":
            (subject, body), ok = _email(w, facts, lang, points), True
        elif channel == "call":
            body, ok = _call(w, facts, lang), True
        else:
            raise ValueError(f"unknown channel {channel!r}; expected sms, email or call")
        drafts.append(OfferDraft(
            channel=channel, lang=lang, measure_code=offer.measure_code, subject=subject, body=body,
            length=len(body), within_limit=ok, placeholder_amounts=w.placeholder, notes=notes + extra,
        ))
    return drafts
