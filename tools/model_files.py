"""The churn model on disk: the model file plus metadata.json, written atomically, read without pickle.

LightGBM models are its own text format; the logistic pipeline is a skops file whose types are
checked against an allow-list before loading, and whose shape must be the pipeline this version
writes. Loaded models are cached per file version.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tools.churn_model import (
    FORMAT_VERSION,
    METADATA_FILE,
    MODEL_FILES,
    SKOPS_TRUSTED,
    CandidateModel,
    ChurnModel,
    ModelError,
)
from tools.features import FeatureSpec


def save_model(model: ChurnModel, model_dir: Path) -> Path:
    """Write the model file and metadata.json (no pickle); metadata goes last, atomically."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    kind = model.kind
    path = model_dir / MODEL_FILES[kind]
    tmp = path.with_name(path.name + ".tmp")
    if kind == "lightgbm":
        model.candidate.model.save_model(str(tmp))
    else:
        import skops.io as sio

        sio.dump(model.candidate.model, tmp)
    os.replace(tmp, path)
    meta = {
        **model.metadata, "format_version": FORMAT_VERSION, "model": kind,
        "model_file": path.name, "features": model.candidate.spec.to_json(),
        "calibration": model.calibration, "lr_centers": model.candidate.lr_centers,
    }
    meta_tmp = model_dir / (METADATA_FILE + ".tmp")
    meta_tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(meta_tmp, model_dir / METADATA_FILE)
    for other, name in MODEL_FILES.items():
        if other != kind:
            (model_dir / name).unlink(missing_ok=True)
    return model_dir / METADATA_FILE


def load_model(model_dir: Path, threads: int | None = None) -> ChurnModel | None:
    """The model saved in `model_dir`, or None when none was trained; cached per file version."""
    meta_path = Path(model_dir) / METADATA_FILE
    if not meta_path.is_file():
        return None
    stamp = tuple((st.st_mtime_ns, st.st_size) for st in
                  (p.stat() for p in [meta_path, *(meta_path.with_name(n) for n in MODEL_FILES.values())]
                   if p.is_file()))
    model = _load_cached(str(meta_path.resolve()), stamp)
    model.candidate.threads = threads
    return model


def _load_cached(meta_path: str, stamp: tuple) -> ChurnModel:
    key = (meta_path, stamp)
    if _CACHE.get("key") != key:
        _CACHE.update(key=key, model=_read_model(Path(meta_path)))
    return _CACHE["model"]


_CACHE: dict[str, Any] = {}


def _read_model(meta_path: Path) -> ChurnModel:
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {meta_path}: {exc}; retrain with `retention churn train`") from exc
    if meta.get("format_version") != FORMAT_VERSION or meta.get("model") not in MODEL_FILES:
        raise ModelError(f"{meta_path} is not a churn model this version can read; retrain it")
    path = meta_path.with_name(MODEL_FILES[meta["model"]])
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; retrain with `retention churn train`")
    if meta["model"] == "lightgbm":
        import lightgbm as lgb

        booster: Any = lgb.Booster(model_file=str(path))
    else:
        import skops.io as sio

        untrusted = set(sio.get_untrusted_types(file=path))
        refused = sorted(untrusted - SKOPS_TRUSTED)
        if refused:
            raise ModelError(f"{path} contains types that are not trusted: {', '.join(refused)}")
        booster = sio.load(path, trusted=sorted(untrusted))
        _check_pipeline(booster, path)
    spec = FeatureSpec.from_json(meta["features"])
    candidate = CandidateModel(meta["model"], spec, booster, lr_centers=meta.get("lr_centers"))
    return ChurnModel(candidate, meta["calibration"], meta)


def _check_pipeline(obj: Any, path: Path) -> None:
    """A loaded skops file must be the pipeline `logistic_pipeline` builds, nothing else."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    steps = getattr(obj, "named_steps", {})
    if not (isinstance(obj, Pipeline) and list(steps) == ["prep", "model"]
            and isinstance(steps["prep"], ColumnTransformer)
            and isinstance(steps["model"], LogisticRegression)):
        raise ModelError(f"{path} does not hold the churn pipeline this version writes; retrain it")
