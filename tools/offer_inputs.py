"""Everything the offer engine needs about one stored subscriber, gathered in one place.

Shared by the CLI, the assistant's tools and the API so that they all offer the same thing.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from knowledge.errors import RetentionError

log = logging.getLogger(__name__)


def churn_for_offers(store: Any, subscriber_id: str, model_dir: Path | None, policy: Any,
                     segmentation: Any) -> tuple[float, str | None, list[str]]:
    """(probability, model risk label or None, reason codes): the trained model if any, else rules."""
    rule = segmentation.rule_score
    fallback = (rule.probability, None, [f.factor for f in rule.factors if f.contribution > 0])
    if model_dir is None or not Path(model_dir).is_dir():  # no trained model: the rule score
        return fallback
    from tools.churn import churn_risk

    try:
        risk = churn_risk(store, subscriber_id, Path(model_dir), policy)
    except RetentionError as exc:
        log.warning("churn model unavailable (%s): using the rule score", exc)
        return fallback
    return risk.churn_probability, risk.risk_label, [r.factor for r in risk.reasons]


def offer_inputs(store: Any, key: str, model_dir: Path | None, policy: Any) -> dict[str, Any]:
    """Keyword arguments for `recommend_offers` for a stored subscriber (id or phone number)."""
    from tools.offer_history import load_history, profile_from_subscriber
    from tools.rules import segment

    sub = store.lookup(key)  # SubscriberNotFound names what was asked for, masked
    as_of = sub.snapshot_date or date.today()
    snapshot = store.to_snapshot(sub.subscriber_id)
    seg = segment(snapshot, policy)
    probability, label, reasons = churn_for_offers(store, sub.subscriber_id, model_dir, policy, seg)
    if label is not None:
        seg = seg.model_copy(update={"risk_label": label})
    history = load_history(store, sub.subscriber_id, as_of)
    return dict(snapshot=snapshot, segmentation=seg, churn_probability=probability, churn_reasons=reasons,
                spent_total=history.spent_total, spent_this_month=history.spent_this_month,
                recent_dispatches=history.recent_dispatches, as_of=as_of, profile=profile_from_subscriber(sub))


def snapshot_inputs(snapshot: Any, policy: Any, churn_probability: float | None = None) -> dict[str, Any]:
    """Keyword arguments for `recommend_offers` for an inline (synthetic or anonymised) snapshot."""
    from tools.rules import segment

    seg = segment(snapshot, policy)
    rule = seg.rule_score
    return dict(snapshot=snapshot, segmentation=seg,
                churn_probability=rule.probability if churn_probability is None else churn_probability,
                churn_reasons=[f.factor for f in rule.factors if f.contribution > 0],
                spent_total=0.0, spent_this_month=0.0, recent_dispatches=[], as_of=date.today())
