"""The ``[logs]`` section of a scenario with ``task = "logs"``: sources of sessions, vocabulary,
the DeepLog model, and how test sets are built. Validated once, like every scenario field."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from fedsec.bundles.fields import MAX_WIDTH
from fedsec.core.configfile import StrictConfig
from fedsec.core.errors import ConfigError


class _Strict(StrictConfig):
    """A table of this configuration (no unknown keys, no NaN/Infinity)."""


class LogSourceConfig(_Strict):
    """Files of one log format holding sessions of one system.

    ``label`` says what the sessions are: ``normal`` / ``abnormal`` for files that hold one kind
    (log-sequences-ait ``*_train``, ``*_test_normal``, ``*_test_abnormal``) or ``file`` when the
    file carries labels (LogRobust CSVs, loghub ``Label`` column, a ``labels`` file)."""

    name: str = Field(min_length=1, description="organization (per-source) or source name")
    format: Literal["sequences", "logrobust", "loghub-structured", "raw-log"] = "sequences"
    paths: list[str] = Field(min_length=1)
    label: Literal["normal", "abnormal", "file"] = "file"
    keep: Literal["all", "normal", "abnormal"] = Field(
        default="all", description="keep only sessions with this label"
    )
    namespace: str | None = Field(
        default=None, description="prefix of event ids without template text (default: name)"
    )
    templates: str | None = Field(default=None, description="event id -> template text file")
    labels: str | None = Field(default=None, description="session id -> Normal/Anomaly CSV")
    session_key: str | None = Field(default=None, description="regex of the session id")
    session_window: float = Field(default=0.0, ge=0, description="seconds per time window")
    log_format: str | None = Field(default=None, description="raw-log header layout")
    max_sessions: int = Field(default=0, ge=0, description="seeded sample of sessions; 0 = all")


class LogsConfig(_Strict):
    sources: list[LogSourceConfig] = Field(min_length=1)

    # vocabulary
    hash_buckets: int = Field(default=1 << 20, ge=16, le=1 << 40)
    hash_key: str = Field(default="fedsec-logs", min_length=1)
    # model (DeepLog: window h, top-k g)
    window: int = Field(default=10, ge=1, le=200)
    embedding: int = Field(default=32, ge=2, le=MAX_WIDTH)
    hidden: int = Field(default=64, ge=2, le=MAX_WIDTH)
    layers: int = Field(default=2, ge=1, le=4)
    end_token: bool = True
    top_k: int = Field(default=0, ge=0, description="0: calibrated on validation normal")
    calibration: Literal["per-org", "pooled"] = Field(
        default="per-org",
        description="shared models: top_k per org on its own validation sessions, or one top_k "
        "from the organizations' pooled validation score histograms",
    )
    max_top_k: int = Field(default=0, ge=0, description="cap for calibrated top_k; 0 = none")
    score: Literal["max-rank", "max-surprise", "mean-log-rank", "quantile-log-rank"] = Field(
        default="max-surprise",
        description="session score: largest event rank (top-k rule), largest event surprise "
        "-log p, or a whole-sequence score (normalised log-ranks of all events); all but the "
        "first are flagged above a calibrated threshold",
    )
    score_quantile: float = Field(default=0.95, gt=0, le=1)
    # long traces: sessions cut into windows of trace_window events every trace_stride events
    trace_window: int = Field(default=0, ge=0, description="events per window; 0 = whole sessions")
    trace_stride: int = Field(default=0, ge=0, description="events between windows; 0 = window")
    # test sets
    test_abnormal_ratio: float = Field(
        default=1.0, ge=0, description="abnormal test sessions per normal one (0 = all)"
    )
    baseline: Literal["pca", "ngram", "none"] = "pca"
    pca_variance: float = Field(default=0.95, gt=0, le=1)
    ngram: int = Field(default=6, ge=1, le=50, description="n of the n-gram baseline")
    ngram_min_count: int = Field(default=1, ge=1, description="n-grams seen fewer times: unknown")

    @model_validator(mode="after")
    def _grouping(self) -> LogsConfig:
        from fedsec.data.logs import SessionOptions  # not loaded for a flows scenario

        for i, source in enumerate(self.sources):
            lines = source.format in ("loghub-structured", "raw-log")
            if lines and not (source.session_key or source.session_window > 0):
                raise ValueError(f"logs.sources.{i}: needs session_key or session_window")
            try:  # the rules of the options detect reads too
                SessionOptions(session_key=source.session_key, session_window=source.session_window)
            except ConfigError as error:
                raise ValueError(f"logs.sources.{i}: {error}") from None
            if source.format == "raw-log" and not source.log_format:
                raise ValueError(f"logs.sources.{i}: raw-log needs log_format")
        if self.trace_stride and not self.trace_window:
            raise ValueError("logs.trace_stride needs logs.trace_window")
        if self.trace_stride > self.trace_window:
            raise ValueError("logs.trace_stride larger than logs.trace_window skips events")
        if (self.top_k or self.max_top_k) and self.score != "max-rank":
            raise ValueError(
                f'logs.top_k and logs.max_top_k apply to score = "max-rank", not "{self.score}" '
                "(which flags above a calibrated threshold)"
            )
        return self

    def org_names(self) -> list[str]:
        return list(dict.fromkeys(s.name for s in self.sources))

    def paths(self) -> list[str]:
        """Every file the sources read: sessions, templates, labels."""
        return [
            p
            for source in self.sources
            for p in [*source.paths, source.templates, source.labels]
            if p is not None
        ]
