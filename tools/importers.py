"""Import real churn data through declarative YAML column mappings (tools/mappings/*.yaml).

A mapping lists every source column the file must have, its type and checks, where it goes in
the subscriber schema (`to`, with an optional value `map`), whether it is also kept as a model
feature (`feature: true` → x_<snake_name>), and what a blank means (`missing`: null, reject, or
impute when another column is zero). `derived` columns use a small whitelist of operations
(sum, product, subtract, divide, copy, map, row_number); nothing is ever evaluated as code.

A column that is missing, or whose values mostly fail to parse, is an `InvalidInput` naming it.
A row with a bad value is rejected with its reasons and reported, never silently dropped.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tools.errors import InvalidInput
from tools.subscriber_schema import EXTRA_PREFIX, LABEL_COLUMN, SUBSCRIBER_COLUMNS, conform

log = logging.getLogger(__name__)

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
MISTYPED_SHARE = 0.5  # a column is mistyped (not just a few bad rows) when half its values fail
MAX_REJECTED_LISTED = 1000
TRUE_WORDS = ["yes", "true", "y", "t", "1"]
FALSE_WORDS = ["no", "false", "n", "f", "0"]
Operand = str | float


class Impute(BaseModel):
    """Fill a blank with `impute` when the `if_zero` column is 0 (with a warning); else reject."""

    model_config = ConfigDict(extra="forbid")
    impute: int | float | str | bool
    if_zero: str


class ColumnSpec(BaseModel):
    """How one source column is typed, checked and mapped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type: Literal["string", "int", "float", "bool", "category"]
    to: str | list[str] | None = None
    map: dict[str, Any] | None = None
    values: list[str] | None = None
    true_values: list[str] | None = None
    false_values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    feature: bool = False
    missing: Literal["null", "reject"] | Impute = "null"

    def targets(self) -> list[str]:
        """Canonical columns this source column feeds."""
        return [self.to] if isinstance(self.to, str) else list(self.to or [])


class DerivedSpec(BaseModel):
    """One computed column; exactly one operation is given."""

    model_config = ConfigDict(extra="forbid")
    sum: list[Operand] | None = None
    product: list[Operand] | None = None
    subtract: list[Operand] | None = Field(None, min_length=2, max_length=2)
    divide: list[Operand] | None = Field(None, min_length=2, max_length=2)
    copy_: str | None = Field(None, alias="copy")
    map: dict[str, Any] | None = None  # {column: NAME, values: {source value: output}}
    row_number: dict[str, Any] | None = None  # {prefix: STR, width: INT}
    round: int | None = None

    @model_validator(mode="after")
    def _one_op(self) -> DerivedSpec:
        ops = [k for k in ("sum", "product", "subtract", "divide", "copy_", "map", "row_number")
               if getattr(self, k) is not None]
        if len(ops) != 1:
            raise ValueError(f"give exactly one operation, got {ops or 'none'}")
        return self


class Mapping(BaseModel):
    """A declarative mapping from one source layout to the subscriber schema."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    constants: dict[str, Any] = Field(default_factory=dict)
    columns: dict[str, ColumnSpec]
    derived: dict[str, DerivedSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_targets(self) -> Mapping:
        outputs = list(self.constants) + list(self.derived)
        outputs += [t for spec in self.columns.values() for t in spec.targets()]
        bad = [o for o in outputs if o not in SUBSCRIBER_COLUMNS and not o.startswith(EXTRA_PREFIX)]
        if bad:
            raise ValueError(f"unknown target columns {bad}: use schema columns or x_ names")
        return self


class RejectedRow(BaseModel):
    """A source row that was not imported, and why (row 1 = first data row)."""

    row: int
    reasons: list[str]


class ImportReport(BaseModel):
    """Outcome of an import: counts, rejected rows with reasons, warnings and the frames."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    mapping: str
    source: str
    encoding: str | None = None
    rows_read: int
    rows_imported: int
    rejected_count: int = 0
    rejected: list[RejectedRow] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    files: dict[str, Path] = Field(default_factory=dict)
    frames: dict[str, Any] = Field(default_factory=dict, exclude=True)


def snake(text: str) -> str:
    """'Total day minutes' → 'total_day_minutes', 'Fiber optic' → 'fiber_optic'."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(text).strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def load_mapping(mapping: str | Path) -> Mapping:
    """A built-in mapping by name (ibm-telco, bigml) or a YAML file path, validated."""
    path = Path(mapping)
    if path.suffix.lower() not in (".yaml", ".yml"):
        path = MAPPINGS_DIR / f"{mapping}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml"))
            raise InvalidInput(f"unknown mapping {str(mapping)!r}; built-in mappings: {known}")
    if not path.is_file():
        raise InvalidInput(f"mapping file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Mapping.model_validate(data)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"mapping {path.name} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidInput(f"mapping {path.name} is invalid: {where}") from exc


def read_source(path: Path) -> tuple[pd.DataFrame, str | None]:
    """The file as text cells ('' = blank): CSV in utf-8 or gbk/gb18030, or Parquet."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"input file not found: {path}")
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
        text = frame.astype("object").where(frame.notna(), "").astype(str)
        return text, None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
            frame.columns = [str(c).strip() for c in frame.columns]
            return frame, "utf-8" if encoding == "utf-8-sig" else "gbk"
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InvalidInput(f"{path.name} is not a readable CSV file: {exc}") from exc
    raise InvalidInput(f"{path.name}: cannot decode as utf-8 or gbk; save it as UTF-8")


class _Rows:
    """Collects reasons per source row."""

    def __init__(self, n: int) -> None:
        self.reasons: dict[int, list[str]] = {}
        self.n = n

    def add(self, mask: np.ndarray, reason: Any) -> None:
        for i in np.flatnonzero(mask):
            self.reasons.setdefault(int(i), []).append(reason(i) if callable(reason) else reason)


def _parse(name: str, spec: ColumnSpec, raw: pd.Series, rows: _Rows) -> pd.Series:
    """Typed values of one column; bad cells are rejected rows, a mostly-bad column an error."""
    text = raw.astype(str).str.strip()
    blank = (text == "").to_numpy()
    if spec.type == "string":
        return text.where(~blank, None)
    if spec.type in ("int", "float"):
        values = pd.to_numeric(text.where(~blank, None), errors="coerce").astype("float64")
        bad = ~blank & values.isna().to_numpy()
        if spec.type == "int":
            bad |= ~blank & ~values.isna().to_numpy() & (values.fillna(0) % 1 != 0).to_numpy()
        expected = "an integer" if spec.type == "int" else "a number"
    elif spec.type == "bool":
        trues = {v.lower() for v in (spec.true_values or TRUE_WORDS)}
        falses = {v.lower() for v in (spec.false_values or FALSE_WORDS)}
        lower = text.str.lower()
        values = pd.Series(np.where(lower.isin(trues), True, np.where(lower.isin(falses), False, None)),
                           index=raw.index, dtype="object")
        bad = ~blank & values.isna().to_numpy()
        expected = f"one of {sorted(trues | falses)}"
    else:  # category
        allowed = {v.lower(): v for v in spec.values or []}
        canon = text.str.lower().map(allowed) if allowed else text
        values = canon.where(~blank, None)
        bad = ~blank & values.isna().to_numpy()
        expected = f"one of {spec.values}"
    n_filled = int((~blank).sum())
    if n_filled and bad.sum() >= max(1, MISTYPED_SHARE * n_filled):
        example = text[bad].iloc[0]
        raise InvalidInput(
            f"column {name!r} should hold {spec.type} values ({expected}) but {int(bad.sum())} of "
            f"{n_filled} do not, e.g. {example!r}; check the file or the mapping"
        )
    rows.add(bad, lambda i: f"{name}: {text.iloc[i]!r} is not {expected}")
    values = values.where(~bad, None)
    if spec.type in ("int", "float"):
        values = values.astype("float64")
        for bound, op in ((spec.min, np.less), (spec.max, np.greater)):
            if bound is not None:
                out = op(values.fillna(bound).to_numpy(), bound)
                word = "below" if op is np.less else "above"
                rows.add(out, lambda i, b=bound, w=word: f"{name}: {values.iloc[i]:g} is {w} {b:g}")
                values = values.where(~out, np.nan)
    return values


def _operand(value: Operand, cols: dict[str, pd.Series], n: int) -> pd.Series:
    if isinstance(value, (int, float)):
        return pd.Series(np.full(n, float(value)))
    if value not in cols:
        raise InvalidInput(f"mapping refers to unknown column {value!r}")
    return pd.to_numeric(cols[value], errors="coerce").astype("float64").reset_index(drop=True)


def _derive(name: str, spec: DerivedSpec, cols: dict[str, pd.Series], n: int) -> pd.Series:
    if spec.row_number is not None:
        prefix = str(spec.row_number.get("prefix", ""))
        width = int(spec.row_number.get("width", 6))
        return pd.Series([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)])
    if spec.copy_ is not None:
        if spec.copy_ not in cols:
            raise InvalidInput(f"derived {name!r} copies unknown column {spec.copy_!r}")
        return cols[spec.copy_].reset_index(drop=True)
    if spec.map is not None:
        column, values = spec.map.get("column"), spec.map.get("values", {})
        if column not in cols:
            raise InvalidInput(f"derived {name!r} maps unknown column {column!r}")
        return cols[column].reset_index(drop=True).map(lambda v: values.get(v) if v is not None else None)
    ops = spec.sum or spec.product or spec.subtract or spec.divide or []
    parts = [_operand(v, cols, n) for v in ops]
    if spec.sum is not None:
        out = sum(parts[1:], parts[0])
    elif spec.product is not None:
        out = parts[0]
        for p in parts[1:]:
            out = out * p
    elif spec.subtract is not None:
        out = parts[0] - parts[1]
    else:
        out = parts[0] / parts[1].replace(0, np.nan)
    return out.round(spec.round) if spec.round is not None else out


def import_file(path: str | Path, mapping: str | Path) -> ImportReport:
    """Read `path` (CSV or Parquet) through `mapping`; returns the typed frames and the report."""
    spec = load_mapping(mapping)
    source, encoding = read_source(Path(path))
    n = len(source)
    missing = [c for c in spec.columns if c not in source.columns]
    if missing:
        lower = {c.lower(): c for c in source.columns}
        renames = {lower[m.lower()]: m for m in missing if m.lower() in lower}
        source = source.rename(columns=renames)
        missing = [c for c in spec.columns if c not in source.columns]
    if missing:
        raise InvalidInput(
            f"{Path(path).name}: missing columns {missing} required by mapping {spec.name!r}"
        )
    rows, warnings = _Rows(n), []
    parsed = {name: _parse(name, cs, source[name], rows).reset_index(drop=True)
              for name, cs in spec.columns.items()}
    for name, cs in spec.columns.items():
        blank = parsed[name].isna().to_numpy() & (source[name].astype(str).str.strip() == "").to_numpy()
        if cs.missing == "reject":
            rows.add(blank, f"{name}: blank")
        elif isinstance(cs.missing, Impute):
            zero = (pd.to_numeric(parsed[cs.missing.if_zero], errors="coerce") == 0).to_numpy()
            fill = blank & zero
            if fill.any():
                parsed[name] = parsed[name].where(~fill, cs.missing.impute)
                warnings.append(f"{name}: {int(fill.sum())} blank value(s) imputed as "
                                f"{cs.missing.impute} where {cs.missing.if_zero} is 0")
            rows.add(blank & ~zero, f"{name}: blank while {cs.missing.if_zero} is not 0")
    out: dict[str, pd.Series] = {}
    for name, cs in spec.columns.items():
        for target in cs.targets():
            values = parsed[name]
            if cs.map:
                values = values.map(lambda v, m=cs.map: m.get(v, v) if v is not None else None)
            out[target] = values
        if cs.feature:
            feature = parsed[name]
            if cs.type == "category":
                feature = feature.map(lambda v: snake(v) if v is not None else None)
            out[f"{EXTRA_PREFIX}{snake(name)}"] = feature
    scope = {**parsed, **out}
    for name, ds in spec.derived.items():
        out[name] = scope[name] = _derive(name, ds, scope, n)
    for name, value in spec.constants.items():
        out[name] = pd.Series([value] * n)
    frame = pd.DataFrame(out)
    if "subscriber_id" in frame:
        ids = frame["subscriber_id"]
        dup = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
        rows.add(dup, "subscriber_id: duplicate of an earlier row")
    bad = np.zeros(n, dtype=bool)
    bad[list(rows.reasons)] = True
    frame = frame[~bad]
    typed = _type_features(conform(frame, SUBSCRIBER_COLUMNS), spec)
    rejected = [RejectedRow(row=i + 1, reasons=r) for i, r in sorted(rows.reasons.items())]
    if len(rejected) > MAX_REJECTED_LISTED:
        warnings.append(f"only the first {MAX_REJECTED_LISTED} of {len(rejected)} rejected rows are listed")
    if rejected:
        log.warning("%s: %d of %d rows rejected", Path(path).name, len(rejected), n)
    return ImportReport(
        mapping=spec.name, source=str(path), encoding=encoding, rows_read=n,
        rows_imported=len(typed), rejected_count=len(rejected),
        rejected=rejected[:MAX_REJECTED_LISTED], warnings=warnings, frames={"subscribers": typed},
    )


def _type_features(frame: pd.DataFrame, spec: Mapping) -> pd.DataFrame:
    """x_ features get stable dtypes: bool → boolean, numbers → float64, categories → string."""
    types = {f"{EXTRA_PREFIX}{snake(n)}": c.type for n, c in spec.columns.items() if c.feature}
    for column in [c for c in frame.columns if c.startswith(EXTRA_PREFIX)]:
        kind = types.get(column)
        if kind == "bool":
            frame[column] = frame[column].astype("boolean")
        elif kind in ("int", "float") or (kind is None and pd.api.types.is_numeric_dtype(frame[column])):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        else:
            frame[column] = frame[column].astype("string")
    return frame


def load_frame(path: str | Path, mapping: str | Path) -> pd.DataFrame:
    """Imported rows as one frame (schema columns, x_ features, label `churned_next_3m`)."""
    report = import_file(path, mapping)
    if report.rejected_count:
        log.warning("%d row(s) of %s rejected; see `retention data import` for reasons",
                    report.rejected_count, Path(path).name)
    frame = report.frames["subscribers"]
    if frame[LABEL_COLUMN].isna().all():
        log.warning("%s has no churn label", Path(path).name)
    return frame
