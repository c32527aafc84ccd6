"""Protected aggregation: what leaves an organization, and what the coordinator can compute.

Each organization turns its new parameters into a payload ``[w * delta, w]`` (its update
relative to the global model, weighted by ``w = rows / weight_unit``; ``w = 1`` and a clipped,
noised update under client-level DP). In clear the coordinator sums payloads it can read one by
one; under secure aggregation (pairwise masks) or homomorphic encryption (CKKS ciphertexts it
can add but not decrypt) it only learns the sum. Either way the next global model is
``global + sum(w * delta) / sum(w)``: the sample-weighted average FedAvg computes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from fedsec.core import seeding
from fedsec.fl.privacy import dp, he, secagg
from fedsec.training.noise import NoiseSource, SeededNoise
from fedsec.training.params import Params
from fedsec.training.plan import Update


@dataclass(frozen=True)
class ProtectionPlan:
    secure_aggregation: bool = False
    homomorphic_encryption: bool = False
    threshold: int | None = None
    weight_unit: float = 1000.0
    client_noise_multiplier: float = 0.0
    client_clip: float = 1.0
    client_min_reporting: int | None = None
    sample_noise_shares: int | None = None  # distributed DP-SGD: shares each update carries
    seed: int = 0

    @property
    def client_dp(self) -> bool:
        return self.client_noise_multiplier > 0


class TooFewNoiseShares(ValueError):
    """Fewer organizations reported than every client-level noise share assumed: releasing
    their sum would spend more privacy than accounted, so the round aggregates nothing."""


def noise_reporters(plan: ProtectionPlan, sampled: int, own_minimum: int | None = None) -> int:
    """The fewest organizations whose client-level noise shares any released sum holds.

    Each organization adds ``z * clip / sqrt(m)``, so a sum over ``m`` or more of them carries
    at least the noise ``z * clip`` the accountant assumes, whoever drops out. Under secure
    aggregation ``m`` is the sum's own floor (a strict majority of the ``sampled``
    organizations, raised by the plan's threshold, ``client_min_reporting`` or the
    organization's ``own_minimum``), and the organization refuses to reveal anything for fewer;
    in clear or under HE it is ``client_min_reporting`` or every selected organization, and the
    coordinator aggregates nothing below it."""
    wanted = plan.client_min_reporting or 0
    if plan.secure_aggregation:
        floor = max(secagg.default_threshold(sampled), plan.threshold or 0, wanted)
        reporters = max(floor, own_minimum or 0)
    else:
        reporters = wanted or sampled
    if reporters > sampled:
        raise TooFewNoiseShares(
            f"client-level DP needs noise shares from at least {reporters} organizations, but "
            f"the round selects {sampled}"
        )
    return reporters


@dataclass
class RoundProtection:
    """What one round's protection did (for the report's privacy and timing sections)."""

    seconds: float = 0.0
    survivors: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    extra: Params | None = None  # sum(w * extra) over the survivors, when extras were sent


def payload(
    global_params: Params,
    update: Update,
    plan: ProtectionPlan,
    sampled: int,
    name: str,
    round_: int,
    noise: NoiseSource | None = None,
    extra: Params | None = None,
    reporters: int | None = None,
) -> tuple[np.ndarray, float]:
    """The vector one organization contributes to the sum, and its update's L2 norm.

    Client-level noise comes from ``noise``: a deployed organization's
    :class:`~fedsec.training.noise.SecureNoise`; None (simulation) seeds it from the plan. Its
    share covers ``reporters`` organizations (default :func:`noise_reporters`).
    ``extra`` (SCAFFOLD's control-variate change) rides in the same vector, weighted alike:
    ``[w * delta, w * extra, w]``."""
    if extra is not None and plan.client_dp:
        raise ValueError("client-level DP cannot protect extra arrays (SCAFFOLD controls)")
    delta = [
        p.astype(np.float64) - g.astype(np.float64)
        for p, g in zip(update.params, global_params, strict=True)
    ]
    if plan.client_dp:
        delta, norm = dp.clip_update(delta, plan.client_clip)
        share = reporters or noise_reporters(plan, sampled)
        std = plan.client_noise_multiplier * plan.client_clip / np.sqrt(share)
        source = noise or SeededNoise(seeding.derive_seed(plan.seed, "client-dp", name, round_))
        delta = dp.gaussian_share(delta, std, source)
        weight = 1.0
    else:
        norm = float(np.sqrt(sum(float((d**2).sum()) for d in delta)))
        weight = update.num_samples / plan.weight_unit
    riders = [np.asarray(e, dtype=np.float64).ravel() for e in extra or []]
    flat = np.concatenate([d.ravel() for d in delta] + riders + [np.zeros(0)])
    return np.append(flat * weight, weight), norm


def protected_average(
    global_params: Params,
    updates: dict[str, Update],
    plan: ProtectionPlan,
    round_: int,
    drop_after_sharing: tuple[str, ...] = (),
    extras: dict[str, Params] | None = None,
) -> tuple[Params, RoundProtection]:
    """The next global model from protected payloads (secure sum when enabled).

    ``extras`` (per organization, e.g. SCAFFOLD's control-variate changes) are summed inside
    the same protection; their weighted sum ``sum(w * extra)`` is in ``RoundProtection.extra``."""
    started = time.perf_counter()
    reporters = least_reporters(plan, len(updates))
    vectors = {}
    for name, update in updates.items():
        vectors[name], _ = payload(
            global_params,
            update,
            plan,
            len(updates),
            name,
            round_,
            extra=extras[name] if extras else None,
            reporters=reporters,
        )
    if plan.secure_aggregation:
        try:
            result = secagg.secure_sum(
                vectors, round_, plan.threshold, drop_after_sharing, min_contributors=reporters
            )
        except secagg.SecAggRefused as error:  # each organization refuses below its share
            if reporters is None:
                raise
            raise TooFewNoiseShares(str(error)) from error
        total, survivors, dropped = result.total, result.survivors, result.dropped
    elif plan.homomorphic_encryption:
        survivors = [n for n in sorted(vectors) if n not in drop_after_sharing]
        total = he.encrypted_sum({n: vectors[n] for n in survivors})
        dropped = sorted(set(vectors) - set(survivors))
    else:
        survivors = [n for n in sorted(vectors) if n not in drop_after_sharing]
        total = np.sum([vectors[n] for n in survivors], axis=0)
        dropped = sorted(set(vectors) - set(survivors))
    check_reported(len(survivors), reporters)
    size = sum(g.size for g in global_params)
    total = np.asarray(total, dtype=np.float64)
    riders = sum(e.size for e in next(iter(extras.values()))) if extras else 0
    if total.shape != (size + riders + 1,):
        raise ValueError(
            f"aggregated payload has shape {total.shape}, expected ({size + riders + 1},)"
        )
    extra = unflatten(total[size:-1], next(iter(extras.values()))) if extras else None
    info = RoundProtection(time.perf_counter() - started, survivors, dropped, extra=extra)
    return average_from_total(global_params, np.append(total[:size], total[-1])), info


def least_reporters(plan: ProtectionPlan, sampled: int) -> int | None:
    """The fewest updates a released sum must hold so that every noise share in it is covered:
    client-level shares (:func:`noise_reporters`) and distributed DP-SGD's ``m`` shares
    (None: no noise shares, any sum may be released)."""
    wanted = [noise_reporters(plan, sampled)] if plan.client_dp else []
    if plan.sample_noise_shares is not None:
        if plan.sample_noise_shares > sampled:
            raise TooFewNoiseShares(
                f"distributed DP-SGD needs noise shares from {plan.sample_noise_shares} "
                f"organizations, but the round selects {sampled}"
            )
        wanted.append(plan.sample_noise_shares)
    return max(wanted) if wanted else None


def check_reported(reported: int, reporters: int | None) -> None:
    """Refuse a sum of fewer noise shares than each share assumed."""
    if reporters is not None and reported < reporters:
        raise TooFewNoiseShares(
            f"{reported} organizations reported, fewer than the {reporters} every noise share "
            "assumes: the round aggregates nothing"
        )


def unflatten(flat: np.ndarray, like: Params) -> Params:
    """``flat`` cut into arrays shaped like ``like``."""
    arrays, offset = [], 0
    for array in like:
        arrays.append(flat[offset : offset + array.size].reshape(array.shape))
        offset += array.size
    if offset != flat.size:
        raise ValueError(f"protected extras hold {flat.size} values, expected {offset}")
    return arrays


def average_from_total(global_params: Params, total: np.ndarray) -> Params:
    """``global + sum(w * delta) / sum(w)`` from the summed payloads ``[w * delta, w]``."""
    total = np.asarray(total, dtype=np.float64)
    expected = sum(g.size for g in global_params) + 1
    if total.shape != (expected,):
        raise ValueError(f"aggregated payload has shape {total.shape}, expected ({expected},)")
    weight = total[-1]
    if weight <= 0:
        raise ValueError("aggregated weight is not positive; nothing to average")
    averaged, offset = [], 0
    for g in global_params:
        size = g.size
        step = total[offset : offset + size].reshape(g.shape) / weight
        averaged.append((g.astype(np.float64) + step).astype(np.float32))
        offset += size
    return averaged
