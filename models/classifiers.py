"""Risk models behind one interface: baselines and scikit-learn classifiers, each calibrated.

A `RiskModel` is fit on a pandas panel (rows = village x period) and returns, per row, a
ranking `score` (the base model's own output), a calibrated `probability` of being high risk
next period (Platt scaling on a time-held-out slice: the last periods of the training
window; monotone, so the ranking is kept) and `expected_weighted_count` (isotonic map from score to
next period's severity-weighted count, fit on the same slice). The whole object is what the
registry stores with joblib.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.baselines import LABEL_HIGH, LABEL_WEIGHTED, BaselineSpec

KINDS = ("baseline", "logistic", "hgb", "hgb_count", "poisson_glm")
COUNT_KINDS = ("baseline", "hgb_count", "poisson_glm")  # scores on the count scale, not probabilities


class TrainingDataError(ValueError):
    """The training window cannot fit a model (no rows, one class only, missing columns)."""


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


# Set while several fits run at once in threads (models.backtest): each then keeps to one
# OpenMP/BLAS thread, set once for the process, since the limits are process-wide.
_FITS_IN_THREADS = threading.Event()


@contextmanager
def single_threaded_fits() -> Iterator[None]:
    """One OpenMP/BLAS thread per fit while fits run in parallel threads."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        _FITS_IN_THREADS.set()
        try:
            yield
        finally:
            _FITS_IN_THREADS.clear()


def _threads(params: dict[str, Any]) -> Any:
    """Cap OpenMP/BLAS threads: on a busy shared machine the tree fits spin-wait badly otherwise."""
    if _FITS_IN_THREADS.is_set():
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(params.get("threads", 1)))


@dataclass
class RiskModel:
    name: str
    kind: str
    features: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)  # baselines only
    base: Any = None
    platt: Any = None
    count_map: Any = None
    prior: float = 0.0
    train_periods: tuple[str, str] | None = None
    calibration_periods: tuple[str, str] | None = None

    # ----- building -----
    @classmethod
    def baseline(cls, spec: BaselineSpec) -> RiskModel:
        return cls(
            name=spec.name, kind="baseline", features=[c for c, _ in spec.weights],
            weights=dict(spec.weights), params={"weights": dict(spec.weights)},
        )

    @classmethod
    def classifier(cls, name: str, kind: str, features: list[str], params: dict[str, Any]) -> RiskModel:
        if kind not in KINDS[1:]:
            raise ValueError(f"classifier kind '{kind}' unknown: expected one of {KINDS[1:]}")
        return cls(name=name, kind=kind, features=list(features), params=dict(params))

    def _new_estimator(self, random_state: int) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, PoissonRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        p = self.params
        if self.kind == "hgb_count":
            # Poisson regression of next period's weighted count: ranks by expected harm.
            return HistGradientBoostingRegressor(loss="poisson", **_hgb_params(p, random_state, self.features))
        if self.kind == "poisson_glm":
            return make_pipeline(
                SimpleImputer(strategy="median", keep_empty_features=True),
                StandardScaler(),
                PoissonRegressor(alpha=float(p.get("alpha", 1e-4)), max_iter=int(p.get("max_iter", 1000)),
                                 tol=float(p.get("tol", 1e-4))),
            )
        if self.kind == "logistic":
            return make_pipeline(
                SimpleImputer(strategy="median", keep_empty_features=True),
                StandardScaler(),
                LogisticRegression(C=float(p.get("C", 0.1)), max_iter=int(p.get("max_iter", 500))),
            )
        return HistGradientBoostingClassifier(**_hgb_params(p, random_state, self.features))

    # ----- scoring -----
    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise TrainingDataError(f"model {self.name} needs columns {missing} that the input lacks")
        return df[self.features].astype("float64").to_numpy()

    def raw_from_matrix(self, x: np.ndarray) -> np.ndarray:
        """The base model's score: a weighted history sum (baselines), an expected count
        (hgb_count) or a class-1 probability (classifiers)."""
        if self.kind == "baseline":
            w = np.array([self.weights[c] for c in self.features])
            return np.nan_to_num(x, nan=0.0) @ w
        if self.base is None:
            raise TrainingDataError(f"model {self.name} is not fit")
        with _threads(self.params):
            if self.kind == "hgb_count":
                return self.base.predict(x)
            if self.kind == "poisson_glm":
                # the fitted rate per unit of exposure, times the row's exposure
                return self.base.predict(x) * self._exposure(x)
            return self.base.predict_proba(x)[:, 1]

    def _exposure(self, x: np.ndarray) -> np.ndarray:
        """poisson_glm: the exposure column's values (params `exposure`, e.g. resident_pop),
        missing or non-positive ones as the training median; 1 without an exposure column."""
        column = self.params.get("exposure")
        if not column or column not in self.features:
            return np.ones(len(x))
        e = x[:, self.features.index(column)].astype(float)
        fill = float(self.params.get("_exposure_median", 1.0))
        return np.where(np.isfinite(e) & (e > 0), e, fill)

    def margin_from_raw(self, raw: np.ndarray) -> np.ndarray:
        """Raw score on the scale Platt scaling and attributions work on (log counts or logits)."""
        return np.log1p(np.maximum(raw, 0.0)) if self.kind in COUNT_KINDS else _logit(raw)

    def margin(self, x: np.ndarray) -> np.ndarray:
        return self.margin_from_raw(self.raw_from_matrix(x))

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """score, probability and expected_weighted_count for each row of df (same index)."""
        raw = self.raw_from_matrix(self.matrix(df))
        m = self.margin_from_raw(raw).reshape(-1, 1)
        if self.platt is not None:
            prob = self.platt.predict_proba(m)[:, 1]
        else:  # no usable calibration: the base rate of the calibration slice for every row
            prob = np.full(len(df), self.prior)
        expected = self.count_map.predict(raw) if self.count_map is not None else raw
        return pd.DataFrame(
            {"score": raw, "probability": prob, "expected_weighted_count": expected}, index=df.index
        )

    # ----- fitting -----
    def fit(self, panel: pd.DataFrame, calibration_periods: int, random_state: int = 0) -> RiskModel:
        """Fit on labelled rows: base model on earlier periods, calibration on the last ones."""
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        rows = panel[panel[LABEL_HIGH].notna() & panel[LABEL_WEIGHTED].notna()]
        periods = sorted(rows["period_start"].unique())
        if len(periods) < 2:
            raise TrainingDataError(
                f"model {self.name} needs labelled rows in at least 2 periods, got {len(periods)}"
            )
        n_cal = max(1, min(calibration_periods, len(periods) // 3))
        cal_start = periods[-n_cal]
        fit_rows, cal_rows = rows[rows["period_start"] < cal_start], rows[rows["period_start"] >= cal_start]
        if self.kind in ("hgb_count", "poisson_glm"):
            y = fit_rows[LABEL_WEIGHTED].astype(float).to_numpy()
            if len(fit_rows) == 0 or y.sum() <= 0:
                raise TrainingDataError(f"model {self.name}: no incidents in the training window")
            x = self.matrix(fit_rows)
            with _threads(self.params):
                if self.kind == "hgb_count":
                    self.base = self._new_estimator(random_state).fit(x, y)
                else:
                    self.base = self._fit_glm(x, y, random_state)
        elif self.kind != "baseline":
            y = fit_rows[LABEL_HIGH].astype(int).to_numpy()
            if len(np.unique(y)) < 2:
                raise TrainingDataError(f"model {self.name}: training labels hold one class only")
            with _threads(self.params):
                self.base = self._new_estimator(random_state).fit(self.matrix(fit_rows), y)
        raw = self.raw_from_matrix(self.matrix(cal_rows))
        y_cal = cal_rows[LABEL_HIGH].astype(int).to_numpy()
        self.prior = float(y_cal.mean()) if len(y_cal) else 0.0
        self.platt = None
        if len(np.unique(y_cal)) == 2:
            platt = LogisticRegression(C=1e4).fit(self.margin_from_raw(raw).reshape(-1, 1), y_cal)
            # A non-positive slope would invert the ranking: keep the base rate instead.
            if platt.coef_[0, 0] > 0:
                self.platt = platt
        self.count_map = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(
            raw, cal_rows[LABEL_WEIGHTED].astype(float).to_numpy()
        )
        self.train_periods = (str(periods[0])[:10], str(periods[-1])[:10])
        self.calibration_periods = (str(cal_start)[:10], str(periods[-1])[:10])
        return self


    def _fit_glm(self, x: np.ndarray, y: np.ndarray, random_state: int) -> Any:
        """Poisson GLM with log(exposure) as offset: fitting the rate y / exposure with the
        exposure as sample weight minimises the same Poisson deviance as a log-link model of
        y with offset log(exposure), so a village of twice the residents and the same rate
        expects twice the incidents."""
        column = self.params.get("exposure")
        if column and column not in self.features:
            raise TrainingDataError(f"model {self.name}: exposure column {column} is not among its inputs")
        e = x[:, self.features.index(column)].astype(float) if column else np.ones(len(x))
        ok = np.isfinite(e) & (e > 0)
        if column and not ok.any():
            raise TrainingDataError(f"model {self.name}: no row has a positive {column}")
        self.params["_exposure_median"] = float(np.median(e[ok])) if ok.any() else 1.0
        e = np.where(ok, e, self.params["_exposure_median"])
        return self._new_estimator(random_state).fit(x, y / e, poissonregressor__sample_weight=e)


def _hgb_params(p: Mapping[str, Any], random_state: int, features: list[str] | None = None) -> dict[str, Any]:
    """Settings shared by the boosted classifier and the boosted count model. `increasing`
    (a list of column-name prefixes) constrains the model to never lower the risk when such
    an input rises (e.g. more past incidents); the other inputs are free."""
    increasing = tuple(p.get("increasing") or ())
    monotone = {"monotonic_cst": [1 if f.startswith(increasing) else 0 for f in features]} \
        if increasing and features else {}
    return {
        **monotone,
        "max_iter": int(p.get("max_iter", 150)),
        "learning_rate": float(p.get("learning_rate", 0.05)),
        "max_leaf_nodes": int(p.get("max_leaf_nodes", 15)),
        "min_samples_leaf": int(p.get("min_samples_leaf", 40)),
        "l2_regularization": float(p.get("l2_regularization", 1.0)),
        "early_stopping": False,
        "random_state": random_state,
    }
