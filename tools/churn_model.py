"""The churn model: LightGBM against a regularised logistic regression, calibrated, saved without pickle.

Training picks the candidate with the best cross-validated PR-AUC (stratified k-fold, every
preprocessing step fitted inside the fold), fits a calibration map on the chosen candidate's
out-of-fold scores, then refits it on all rows. On disk a model is a LightGBM text file or a
skops file (loaded with an explicit list of trusted types) plus `metadata.json`: features with
dtypes and categories, chosen model, data hash, training date, CV metrics and the calibration map.
Heavy libraries are imported inside the functions that need them. Saving and loading: tools/model_files.py.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from tools.errors import InvalidInput
from tools.features import FeatureSpec

log = logging.getLogger(__name__)

# OpenMP threads that spin while waiting make LightGBM 10-20x slower on a busy machine (measured
# on 2 shared cores); passive waiting costs little when the machine is idle. Only effective
# before the OpenMP runtime loads, so it is set here, before lightgbm/sklearn are imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CANDIDATES = ("lightgbm", "logistic")
FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
MODEL_FILES = {"lightgbm": "model.txt", "logistic": "model.skops"}
MISSING = "__missing__"
# The only types a skops model file may contain; anything else is refused before loading.
SKOPS_TRUSTED = frozenset({
    "sklearn.pipeline.Pipeline", "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.impute._base.SimpleImputer", "sklearn.impute._base.MissingIndicator",
    "sklearn.preprocessing._data.StandardScaler", "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.linear_model._logistic.LogisticRegression", "numpy.dtype",
})


class ModelError(InvalidInput):
    """A model directory is unreadable, from a newer version, or holds untrusted types."""


# --- candidates ------------------------------------------------------------------------------


def resolve_threads(threads: int | None = None) -> int:
    """Worker threads for LightGBM and BLAS: `threads`, or every core when None/0."""
    return threads if threads and threads > 0 else max(1, min(os.cpu_count() or 1, 8))


def lightgbm_params(n_rows: int, seed: int, threads: int | None = None) -> dict[str, Any]:
    """LightGBM settings, regularised more on small data."""
    return {
        "objective": "binary", "learning_rate": 0.08 if n_rows >= 100_000 else 0.05,
        "num_leaves": 31 if n_rows >= 20_000 else 15,
        "min_data_in_leaf": max(20, n_rows // 1000) if n_rows >= 1000 else max(3, n_rows // 50),
        "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
        "max_cat_to_onehot": 8, "cat_smooth": 10.0, "num_threads": resolve_threads(threads), "seed": seed,
        "verbosity": -1,
    }


def _fit_lightgbm(x: pd.DataFrame, y: np.ndarray, seed: int, threads: int | None) -> Any:
    """Boosting with early stopping on a stratified 10% of the training rows (never the test fold)."""
    import lightgbm as lgb
    from sklearn.model_selection import train_test_split

    params = lightgbm_params(len(x), seed, threads)
    idx = np.arange(len(x))
    fit_idx, val_idx = train_test_split(idx, test_size=0.1, stratify=y, random_state=seed)
    train = lgb.Dataset(x.iloc[fit_idx], y[fit_idx], free_raw_data=True)
    valid = lgb.Dataset(x.iloc[val_idx], y[val_idx], reference=train)
    return lgb.train(
        params, train, num_boost_round=400, valid_sets=[valid],
        callbacks=[lgb.early_stopping(40, verbose=False)],
    )


def logistic_pipeline(spec: FeatureSpec) -> Any:
    """Impute + standardise numerics, impute + one-hot categories, then L2 logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                        ("scale", StandardScaler())])
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    prep = ColumnTransformer(
        [("num", numeric, spec.numeric), ("cat", categorical, list(spec.categorical))],
        sparse_threshold=0.0,
    )
    return Pipeline([("prep", prep), ("model", LogisticRegression(C=0.5, max_iter=2000))])


def _lr_frame(x: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    out = x.copy()
    for name in spec.categorical:
        out[name] = x[name].astype(object).where(x[name].notna(), MISSING)
    return out


def fit_candidate(
    kind: str, features: pd.DataFrame, y: np.ndarray, seed: int, threads: int | None = None
) -> CandidateModel:
    """Fit one candidate; its preprocessing (feature spec, imputer, scaler, encoder) sees only these rows."""
    from threadpoolctl import threadpool_limits

    spec = FeatureSpec.infer(features)
    x = spec.apply(features)
    threads = resolve_threads(threads)
    if kind == "lightgbm":
        return CandidateModel(kind, spec, _fit_lightgbm(x, y, seed, threads), threads=threads)
    if kind == "logistic":
        with threadpool_limits(threads):
            pipe = logistic_pipeline(spec).fit(_lr_frame(x, spec), y)
            centers = pipe.named_steps["prep"].transform(_lr_frame(x, spec)).mean(axis=0)
        return CandidateModel(kind, spec, pipe, lr_centers=centers.tolist(), threads=threads)
    raise InvalidInput(f"unknown model {kind!r}; expected one of {CANDIDATES}")


@dataclass
class CandidateModel:
    """A fitted base model (LightGBM booster or sklearn pipeline) with its feature spec."""

    kind: str
    spec: FeatureSpec
    model: Any
    lr_centers: list[float] | None = None
    threads: int | None = None

    def raw_scores(self, features: pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds."""
        matrix = self.spec.matrix(features)
        if self.kind == "lightgbm":
            raw = self.model.predict(matrix, raw_score=True, num_threads=resolve_threads(self.threads))
            return np.asarray(raw, dtype=np.float64)
        lr = self.model.named_steps["model"]
        return self._lr_design(matrix)[0] @ lr.coef_.ravel() + lr.intercept_[0]

    def contributions(self, features: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Per-feature log-odds contributions and the base.

        SHAP values for LightGBM; coefficient x (value - training mean) in the standardised space
        for the logistic regression. Base + contributions = the raw score.
        """
        matrix = self.spec.matrix(features)
        if self.kind == "lightgbm":
            contrib = self.model.predict(matrix, pred_contrib=True, num_threads=resolve_threads(self.threads))
            contrib = np.asarray(contrib, dtype=np.float64)
            return pd.DataFrame(contrib[:, :-1], columns=self.spec.columns), contrib[:, -1]
        lr = self.model.named_steps["model"]
        design, owners = self._lr_design(matrix)
        centers = np.asarray(self.lr_centers if self.lr_centers is not None else design.mean(0))
        coef = lr.coef_.ravel()
        columns = self.spec.columns
        owner_matrix = np.zeros((len(owners), len(columns)))
        owner_matrix[np.arange(len(owners)), [columns.index(o) for o in owners]] = 1.0
        frame = pd.DataFrame((coef * (design - centers)) @ owner_matrix, columns=columns)
        return frame, np.full(len(matrix), float(lr.intercept_[0] + coef @ centers))

    def _lr_design(self, matrix: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """The fitted ColumnTransformer's output, computed in numpy from `FeatureSpec.matrix`."""
        prep = self.model.named_steps["prep"]
        k = len(self.spec.numeric)
        blocks, owners = [], []
        if k:
            num = prep.named_transformers_["num"]
            imputer, scaler = num.named_steps["impute"], num.named_steps["scale"]
            values = matrix[:, :k]
            missing = np.isnan(values)
            parts = [np.where(missing, imputer.statistics_, values)]
            owners += self.spec.numeric
            if imputer.indicator_ is not None:
                flagged = imputer.indicator_.features_
                parts.append(missing[:, flagged].astype(np.float64))
                owners += [self.spec.numeric[j] for j in flagged]
            blocks.append((np.hstack(parts) - scaler.mean_) / scaler.scale_)
        if self.spec.categorical:
            encoder = prep.named_transformers_["cat"]
            for i, (name, levels) in enumerate(zip(self.spec.categorical, encoder.categories_)):
                cats = self.spec.categorical[name]
                level_codes = np.array([-1 if v == MISSING else cats.index(v) for v in levels])
                codes = np.nan_to_num(matrix[:, k + i], nan=-1.0)
                blocks.append((codes[:, None] == level_codes[None, :]).astype(np.float64))
                owners += [name] * len(levels)
        return np.hstack(blocks), owners


# --- calibration -----------------------------------------------------------------------------


def fit_calibration(raw: np.ndarray, y: np.ndarray, method: str = "auto") -> dict[str, Any]:
    """A calibration map from out-of-fold raw scores: isotonic on 10,000+ rows, else Platt sigmoid."""
    if method == "auto":
        method = "isotonic" if len(y) >= 10_000 and y.sum() >= 200 else "sigmoid"
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        return {"method": "isotonic", "x": iso.X_thresholds_.round(6).tolist(),
                "y": iso.y_thresholds_.round(6).tolist()}
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000).fit(raw.reshape(-1, 1), y)
    return {"method": "sigmoid", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def apply_calibration(calibration: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    """Calibrated probabilities from raw log-odds."""
    if calibration["method"] == "isotonic":
        return np.interp(raw, calibration["x"], calibration["y"])
    z = calibration["a"] * np.asarray(raw, dtype=np.float64) + calibration["b"]
    return 1.0 / (1.0 + np.exp(-z))


# --- the calibrated model ----------------------------------------------------------------------


@dataclass
class ChurnModel:
    """A candidate model plus its calibration map and metadata: what `churn_risk` scores with."""

    candidate: CandidateModel
    calibration: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """'lightgbm' or 'logistic'."""
        return self.candidate.kind

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probabilities for a feature frame."""
        return apply_calibration(self.calibration, self.candidate.raw_scores(features))

    def explain(self, features: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Calibrated probabilities and per-feature log-odds contributions, in one pass."""
        contributions, base = self.candidate.contributions(features)
        raw = contributions.to_numpy().sum(axis=1) + base
        return apply_calibration(self.calibration, raw), contributions


def data_hash(features: pd.DataFrame, y: np.ndarray) -> str:
    """A short fingerprint of the training rows (features and labels)."""
    h = hashlib.sha256(pd.util.hash_pandas_object(features, index=False).to_numpy().tobytes())
    h.update(np.asarray(y, dtype=np.uint8).tobytes())
    return h.hexdigest()[:16]


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# --- training and evaluation ------------------------------------------------------------------


def score_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), Brier score and precision in the top 10% of scores."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    top = np.argsort(-np.asarray(p), kind="stable")[: max(1, int(np.ceil(0.1 * len(y))))]
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
        "precision_at_top_decile": float(y[top].mean()),
    }


def _folds(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < 2:
        raise InvalidInput(f"need at least 2 churners and 2 non-churners to cross-validate, got {minority}")
    k = max(2, min(folds, minority))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def cross_val_raw(
    kind: str, features: pd.DataFrame, y: np.ndarray, folds: int, seed: int, threads: int | None
) -> tuple[np.ndarray, dict[str, float]]:
    """Out-of-fold raw scores of one candidate and its mean fold metrics (uncalibrated ranking)."""
    oof = np.zeros(len(y))
    per_fold = []
    for train, test in _folds(y, folds, seed):
        model = fit_candidate(kind, features.iloc[train], y[train], seed, threads)
        oof[test] = model.raw_scores(features.iloc[test])
        per_fold.append(score_metrics(y[test], 1 / (1 + np.exp(-oof[test]))))
    means = {k: float(np.mean([m[k] for m in per_fold])) for k in per_fold[0]}
    means.pop("brier")  # raw scores are not calibrated; see fit_calibrated
    return oof, means


def fit_calibrated(
    kind: str, features: pd.DataFrame, y: np.ndarray, folds: int, seed: int, threads: int | None
) -> tuple[ChurnModel, dict[str, float]]:
    """CV one candidate, calibrate on its out-of-fold scores, refit on all rows."""
    oof, cv = cross_val_raw(kind, features, y, folds, seed, threads)
    calibration = fit_calibration(oof, y)
    cv["brier_oof"] = score_metrics(y, apply_calibration(calibration, oof))["brier"]
    candidate = fit_candidate(kind, features, y, seed, threads)
    return ChurnModel(candidate, calibration), cv


def train_model(
    features: pd.DataFrame, y: np.ndarray, folds: int = 5, seed: int = 42,
    candidates: tuple[str, ...] = CANDIDATES, threads: int | None = None,
) -> ChurnModel:
    """Choose the candidate by cross-validated PR-AUC, calibrate it out of fold, refit on all rows."""
    y = np.asarray(y, dtype=int)
    cv: dict[str, dict[str, float]] = {}
    oof: dict[str, np.ndarray] = {}
    for kind in candidates:
        log.info("cross-validating %s (%d folds, %d rows)", kind, folds, len(y))
        oof[kind], cv[kind] = cross_val_raw(kind, features, y, folds, seed, threads)
    chosen = max(candidates, key=lambda k: cv[k]["pr_auc"])
    calibration = fit_calibration(oof[chosen], y)
    cv[chosen]["brier_oof"] = score_metrics(y, apply_calibration(calibration, oof[chosen]))["brier"]
    log.info("chosen %s (PR-AUC %.3f); refitting on all rows", chosen, cv[chosen]["pr_auc"])
    candidate = fit_candidate(chosen, features, y, seed, threads)
    from tools.features import feature_topics

    meta = {
        "trained_at": utc_now(), "data_hash": data_hash(features, y), "n": int(len(y)),
        "positives": int(y.sum()), "base_rate": float(y.mean()), "folds": folds, "seed": seed,
        "selected_by": "cv_pr_auc", "cv": cv, "library_versions": _versions(),
        "feature_topics": feature_topics(features, candidate.spec),
    }
    return ChurnModel(candidate, calibration, meta)


def evaluate_nested(
    features: pd.DataFrame, y: np.ndarray, folds: int = 5, seed: int = 42, inner_folds: int = 3,
    candidates: tuple[str, ...] = CANDIDATES, threads: int | None = None,
) -> dict[str, Any]:
    """Nested CV: in each outer fold, inner CV picks and calibrates the candidate; means of outer folds."""
    y = np.asarray(y, dtype=int)
    chosen_metrics, winners = [], []
    per_kind: dict[str, list[dict[str, float]]] = {k: [] for k in candidates}
    outer = _folds(y, folds, seed)
    for i, (train, test) in enumerate(outer):
        inner_pr = {}
        for kind in candidates:
            model, cv = fit_calibrated(kind, features.iloc[train], y[train], inner_folds, seed, threads)
            inner_pr[kind] = cv["pr_auc"]
            per_kind[kind].append(score_metrics(y[test], model.predict_proba(features.iloc[test])))
        winner = max(candidates, key=lambda k: inner_pr[k])
        winners.append(winner)
        chosen_metrics.append(per_kind[winner][-1])
        log.info("outer fold %d/%d: %s chosen, PR-AUC %.3f", i + 1, len(outer), winner,
                 chosen_metrics[-1]["pr_auc"])
    result = _means(chosen_metrics)
    result.update(
        n=int(len(y)), positives=int(y.sum()), model=max(set(winners), key=winners.count),
        folds=len(outer), seed=seed, selected_per_fold=winners,
        candidates={k: _means(v) for k, v in per_kind.items()},
    )
    return result


def evaluate_split(
    train_features: pd.DataFrame, y_train: np.ndarray, test_features: pd.DataFrame,
    y_test: np.ndarray, folds: int = 5, seed: int = 42,
    candidates: tuple[str, ...] = CANDIDATES, threads: int | None = None,
) -> dict[str, Any]:
    """Hold-out evaluation: every candidate fitted and calibrated on train, chosen by train CV PR-AUC."""
    y_train, y_test = np.asarray(y_train, dtype=int), np.asarray(y_test, dtype=int)
    results, cv_pr = {}, {}
    for kind in candidates:
        model, cv = fit_calibrated(kind, train_features, y_train, folds, seed, threads)
        cv_pr[kind] = cv["pr_auc"]
        results[kind] = score_metrics(y_test, model.predict_proba(test_features))
    chosen = max(candidates, key=lambda k: cv_pr[k])
    return {**results[chosen], "n": int(len(y_test)), "positives": int(y_test.sum()),
            "model": chosen, "n_train": int(len(y_train)), "candidates": results}


def _means(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}


def _versions() -> dict[str, str]:
    import lightgbm
    import sklearn

    return {"lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__, "numpy": np.__version__}
