"""The coordinator's part of a logs scenario: what a logs job carries, and what it can protect."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fedsec.fl.config import PrivacyConfig
from fedsec.scenarios.logs_config import LogsConfig

#: The largest hashing space whose token sets a secure sum can take (one value per bucket).
MAX_SECURE_BUCKETS = 1 << 22


class LogsJobConfig(BaseModel):
    """What the coordinator needs of a logs scenario's ``[logs]`` section: the hashing space
    (never its key, nor any source: those stay with the sites), the DeepLog sizes, its session
    score and how its ``top_k`` or threshold is chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    hash_buckets: int = Field(ge=16, le=1 << 40)
    window: int = Field(ge=1, le=200)
    embedding: int = Field(ge=2, le=4096)
    hidden: int = Field(ge=2, le=4096)
    layers: int = Field(ge=1, le=4)
    end_token: bool = True
    top_k: int = Field(default=0, ge=0)
    max_top_k: int = Field(default=0, ge=0)
    score: Literal["max-rank", "max-surprise"] = "max-rank"
    calibration: Literal["per-org", "pooled"] = Field(
        default="per-org",
        description="top_k (or threshold) chosen by each site on its own validation sessions, "
        "or one from the sum of the sites' validation score histograms",
    )

    @classmethod
    def of(cls, logs: LogsConfig) -> LogsJobConfig:
        fields = set(cls.model_fields)
        return cls(**{k: v for k, v in logs.model_dump().items() if k in fields})

    def unprotected(self, privacy: PrivacyConfig) -> str | None:
        """Why a job of this section cannot protect what it sends under ``privacy`` (None:
        it can). Its vocabulary is gathered in clear or by a secure sum."""
        if privacy.homomorphic_encryption:
            return (
                "privacy.homomorphic_encryption is not available to logs jobs (their vocabulary "
                "is gathered in clear or by secure aggregation)"
            )
        if privacy.client_dp.enabled and not privacy.secure_aggregation:
            return (
                "privacy.client_dp in a logs job needs privacy.secure_aggregation: each site's "
                "set of event tokens would reach the coordinator exact, outside the DP noise"
            )
        if privacy.secure_aggregation and self.hash_buckets > MAX_SECURE_BUCKETS:
            return (
                f"logs.hash_buckets {self.hash_buckets} is too large for a secure union of "
                f"the sites' token sets (at most {MAX_SECURE_BUCKETS})"
            )
        return None
