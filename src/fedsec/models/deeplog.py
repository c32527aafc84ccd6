"""DeepLog-class next-event model (Du et al., CCS 2017) with a session-level decision.

An LSTM reads the last ``window`` event tokens of a session (left-padded at its start) and scores
every token as the next event, the end of the session included. An event is *expected* when it is
among the ``top_k`` candidates the model ranks highest (candidates: the tokens the model knows,
plus the end of session); an event the model has never seen in training is always unexpected.
The model's vocabulary is the sorted ``index`` of hashed tokens seen in training (for a shared
model, the union the organizations report: token ids only), so its size follows the data.
With the default session score (``max-rank``) a session is anomalous when any of its events, or
its end, is unexpected: its score is the largest rank of its events (unseen events rank last), so
``score >= top_k`` flags it, and ``top_k`` is calibrated per organization on normal validation
sessions (:mod:`fedsec.models.session_scores`). On long traces one rare event in thousands
makes every session "anomalous" under that rule, so the calibrated ``top_k`` climbs until only
never-seen events fire. The whole-sequence scores use every event instead: ``mean-log-rank``
is the mean of ``log(1 + rank) / log(1 + unseen_rank)`` over a session's events (0: every event
the first choice; 1: every event never seen), ``quantile-log-rank`` its ``score_quantile``
quantile; both are flagged above a threshold calibrated like the flow models' (see
:data:`SESSION_SCORES`).
``max-surprise`` keeps the max-rank rule's "the session's least expected event decides" but
measures each event by its surprise ``-log p`` instead of its rank: a rank is an integer among
a few dozen candidates, so a calibrated ``top_k`` can only jump (on HDFS from 5 to 7 with a
handful of validation sessions, missing a third of the anomalies), while the surprise's
threshold lands at the target false-positive rate.
Predicting the end of session is a documented variant of DeepLog: it flags sessions that stop
early (e.g. an HDFS block allocated and never written), which plain next-event prediction misses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Self

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from fedsec.features.vocabulary import EOS, PAD, RESERVED, UNK, EventVocabulary
from fedsec.models.base import GLOBAL, Detector, calibrate_threshold, flag
from fedsec.models.network import NetworkDetector
from fedsec.models.seeded import seeded_build
from fedsec.models.session_scores import (
    calibrate_top_k,
    largest,
    session_scores,
    whole_sequence_scores,
)
from fedsec.training.local import local_update
from fedsec.training.plan import TrainingPlan

#: (window, target) pairs per forward pass when scoring events.
PAIR_BATCH = 2048
MAX_RANK = "max-rank"
MAX_SURPRISE = "max-surprise"
SESSION_SCORES = {
    MAX_RANK: "largest rank of the session's events (any event outside the top-k flags it)",
    MAX_SURPRISE: "largest surprise -log p of the session's events, as s / (1 + s)",
    "mean-log-rank": "mean normalised log-rank of the session's events",
    "quantile-log-rank": "score_quantile quantile of the normalised log-ranks of its events",
}


@dataclass(frozen=True)
class DeepLogSpec:
    """Architecture as data: enough to rebuild the network from a bundle."""

    vocab: int
    window: int = 10
    embedding: int = 32
    hidden: int = 64
    layers: int = 2

    def to_json(self) -> dict:
        return {"kind": "deeplog-lstm", **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> DeepLogSpec:
        return cls(*(int(data[k]) for k in ("vocab", "window", "embedding", "hidden", "layers")))


class DeepLogLSTM(nn.Module):
    """Embedding -> LSTM -> next-token logits from the last step."""

    def __init__(self, spec: DeepLogSpec) -> None:
        super().__init__()
        self.embed = nn.Embedding(spec.vocab, spec.embedding)
        self.lstm = nn.LSTM(spec.embedding, spec.hidden, spec.layers, batch_first=True)
        self.out = nn.Linear(spec.hidden, spec.vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(self.embed(x))
        return self.out(states[:, -1])


def build_deeplog(spec: DeepLogSpec, generator: torch.Generator | None = None) -> DeepLogLSTM:
    """A fresh network; with a generator its initial weights are reproducible."""
    return seeded_build(lambda: DeepLogLSTM(spec), generator)


def session_windows(
    sessions: Sequence[np.ndarray], window: int, end_token: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training/scoring pairs: (``window`` previous tokens, next token, session index) for every
    event of every session, plus the end of session when ``end_token``.

    Built at once on one stream of the sessions, each behind ``window`` PADs (and followed by
    EOS): a window starting in a session's stretch never reaches past it."""
    lengths = np.fromiter((len(tokens) for tokens in sessions), np.int64, len(sessions))
    pairs = lengths + int(end_token)  # one per event, and the end
    kept = np.flatnonzero(pairs > 0)
    if len(kept) == 0:
        return np.zeros((0, window), np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    lengths, pairs = lengths[kept], pairs[kept]
    starts = np.concatenate([[0], np.cumsum(window + pairs)[:-1]])  # of each session's stretch
    stream = np.full(int((window + pairs).sum()), PAD, np.int64)
    stream[_offsets(starts + window, lengths)] = np.concatenate(
        [np.asarray(sessions[i]) for i in kept]
    ).astype(np.int64)
    if end_token:
        stream[starts + window + lengths] = EOS
    first = _offsets(starts, pairs)  # each pair's first window position
    x = sliding_window_view(stream, window)[first]
    return x, stream[first + window], np.repeat(kept.astype(np.int64), pairs)


def _offsets(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``start, start + 1, .., start + count - 1`` of each (start, count), concatenated."""
    ends = np.cumsum(counts)
    return np.repeat(starts - (ends - counts), counts) + np.arange(
        int(ends[-1]) if len(ends) else 0
    )


def target_ranks(
    module: nn.Module, x: np.ndarray, y: np.ndarray, candidates: np.ndarray, batch: int = PAIR_BATCH
) -> np.ndarray:
    """Rank of each target among ``candidates`` (0 = the model's first choice), computed once
    per distinct (window, target) pair."""
    return _per_pair(module, x, y, candidates, batch, _ranks).astype(np.int64)


def target_surprises(
    module: nn.Module, x: np.ndarray, y: np.ndarray, candidates: np.ndarray, batch: int = PAIR_BATCH
) -> np.ndarray:
    """Surprise of each target, ``s = -log p`` under the model's softmax over ``candidates``,
    as ``s / (1 + s)`` in [0, 1) (monotone in ``s``; 0: a certain event)."""
    return _per_pair(module, x, y, candidates, batch, _surprises)


def _ranks(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (logits > logits.gather(1, target)).sum(dim=1).double()


def _surprises(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    surprise = -torch.log_softmax(logits.double(), dim=1).gather(1, target).squeeze(1)
    return surprise / (1.0 + surprise)


def _target_ranks_and_surprises(
    module: nn.Module, x: np.ndarray, y: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """:func:`target_ranks` and :func:`target_surprises` from one forward pass, as columns."""
    return _per_pair(module, x, y, candidates, PAIR_BATCH, _ranks_and_surprises, width=2)


def _ranks_and_surprises(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.stack([_ranks(logits, target), _surprises(logits, target)], dim=1)


def _per_pair(
    module: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    candidates: np.ndarray,
    batch: int,
    measure: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    width: int = 0,
) -> np.ndarray:
    """``measure(logits over candidates, targets)`` for each (window, target) pair, computed
    once per distinct pair: one value per pair, or ``width`` of them."""
    shape = (width,) if width else ()
    if len(x) == 0:
        return np.zeros((0, *shape), np.float64)
    pairs, inverse = unique_rows(np.column_stack([x, y]))
    mask = torch.full((module.out.out_features,), float("-inf"))
    mask[torch.from_numpy(candidates)] = 0.0
    values = np.zeros((len(pairs), *shape), np.float64)
    module.eval()
    with torch.no_grad():
        for start in range(0, len(pairs), batch):
            chunk = torch.from_numpy(np.ascontiguousarray(pairs[start : start + batch]))
            logits = module(chunk[:, :-1]) + mask
            values[start : start + batch] = measure(logits, chunk[:, -1:]).numpy()
    return values[inverse]


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` (the same rows in the same order, so
    the same scoring batches), by a lexicographic sort: ten times faster on windows."""
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    inverse = np.empty(len(rows), np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def index_ids(index: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Model input ids of hashed tokens: ``RESERVED + position`` in the sorted ``index`` of
    tokens the model knows, ``UNK`` for any other token."""
    tokens = np.asarray(tokens, np.int64)
    if len(index) == 0:
        return np.full(len(tokens), UNK, np.int64)
    where = np.searchsorted(index, tokens)
    found = index[np.minimum(where, len(index) - 1)] == tokens
    return np.where(found, RESERVED + where, UNK).astype(np.int64)


def sessions_ids(index: np.ndarray, sessions: Sequence[np.ndarray]) -> list[np.ndarray]:
    """:func:`index_ids` of each session, looked up in one pass over all their tokens."""
    if len(sessions) == 0:
        return []
    tokens = [np.asarray(s, np.int64) for s in sessions]
    ids = index_ids(index, np.concatenate(tokens))
    return np.split(ids, np.cumsum([len(t) for t in tokens])[:-1])


class DeepLogDetector(NetworkDetector, Detector):
    """A next-event model over the sorted hashed tokens it knows (its ``index``: input and
    output ``RESERVED + i`` is token ``index[i]``).

    Hyperparameters: ``spec`` (its ``vocab`` is ``RESERVED + len(index)``), ``vocabulary`` (the
    hashing of event ids), ``index``, ``end_token``, the session ``score`` (and its
    ``score_quantile``) and, for :meth:`fit`, the local ``plan``, ``rounds`` and ``seed``.
    Learned: ``params_`` and, per organization and ``"*"``, ``top_k_`` (``max-rank``) or
    ``thresholds_`` (whole-sequence scores)."""

    def __init__(
        self,
        spec: DeepLogSpec,
        vocabulary: EventVocabulary,
        index: np.ndarray,
        end_token: bool = True,
        plan: TrainingPlan | None = None,
        rounds: int = 1,
        seed: int = 0,
        score: str = MAX_RANK,
        score_quantile: float = 0.95,
    ) -> None:
        if score not in SESSION_SCORES:
            raise ValueError(f"unknown session score {score!r}; known: {sorted(SESSION_SCORES)}")
        self.spec = spec
        self.vocabulary = vocabulary
        self.index = index
        self.end_token = end_token
        self.plan = plan
        self.rounds = rounds
        self.seed = seed
        self.score = score
        self.score_quantile = score_quantile

    @property
    def top_k_(self) -> dict[str, int]:
        if "_top_k" not in self.__dict__:
            self._top_k: dict[str, int] = {}
        return self._top_k

    @top_k_.setter
    def top_k_(self, top_k: dict[str, int]) -> None:
        self._top_k = dict(top_k)

    @property
    def known(self) -> np.ndarray:
        """``index`` as sorted int64 token ids."""
        return np.asarray(self.index, np.int64)

    def build(self, generator: torch.Generator | None = None) -> DeepLogLSTM:
        if self.spec.vocab != RESERVED + len(self.known):
            raise ValueError(
                f"model has {self.spec.vocab} outputs for {len(self.known)} known tokens"
            )
        return build_deeplog(self.spec, generator)

    def fit(self, X: Sequence[np.ndarray], y: None = None) -> Self:
        """Train on one party's normal sessions (hashed tokens): ``rounds`` updates of
        ``plan`` (by default one Adam epoch) from the current weights. Clears ``top_k_``."""
        plan = self.plan or TrainingPlan(epochs=1, lr=1e-3, optimizer="adam")
        inputs = sessions_ids(self.known, X)
        x, targets, _ = session_windows(inputs, self.spec.window, self.end_token)
        params = self.weights_to_fit()
        for round_ in range(1, self.rounds + 1):
            round_plan = replace(plan, seed=plan.seed + round_)
            params = local_update(self.module(), params, x, targets, round_plan).params
        self.set_weights(params).module().eval()
        self.top_k_ = {}
        self.thresholds_ = {}
        return self

    @property
    def candidates(self) -> np.ndarray:
        """Model ids a next event can be: every known token, and the end of session."""
        known = np.arange(RESERVED, self.spec.vocab, dtype=np.int64)
        return np.concatenate([[EOS], known]) if self.end_token else known

    @property
    def unseen_rank(self) -> int:
        """The rank given to events the model never saw: last, beyond every candidate."""
        return len(self.candidates)

    def event_ranks(self, sessions: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per session, the rank of each event and of its end (unseen events: ``unseen_rank``)."""
        return self._per_event(sessions, target_ranks, self.unseen_rank)

    def event_ranks_and_surprises(
        self, sessions: Sequence[np.ndarray]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """:meth:`event_ranks` and :meth:`event_surprises` from one forward pass."""
        both = self._per_event(sessions, _target_ranks_and_surprises, [self.unseen_rank, 1.0])
        return [b[:, 0].astype(np.int64) for b in both], [b[:, 1] for b in both]

    def event_surprises(self, sessions: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per session, the surprise of each event and of its end as ``s / (1 + s)`` (see
        :func:`target_surprises`; unseen events: 1)."""
        return self._per_event(sessions, target_surprises, 1.0)

    def _per_event(
        self,
        sessions: Sequence[np.ndarray],
        per_target: Callable[[nn.Module, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
        unseen: float | list[float],
    ) -> list[np.ndarray]:
        """Per session, ``per_target``'s value (:func:`target_ranks`, ...) for each event and
        for its end; ``unseen`` for the events the model never saw."""
        inputs = sessions_ids(self.known, sessions)
        x, y, owner = session_windows(inputs, self.spec.window, self.end_token)
        values = per_target(self.module(), x, np.where(y == UNK, EOS, y), self.candidates)
        values[y == UNK] = unseen
        bounds = np.searchsorted(owner, np.arange(len(sessions) + 1))
        return [values[bounds[i] : bounds[i + 1]] for i in range(len(sessions))]

    def decision_function(
        self,
        X: Sequence[np.ndarray],
        ranks: Sequence[np.ndarray] | None = None,
        surprises: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Session score (higher = more anomalous): the largest rank among its events
        (``max-rank``), their largest surprise (``max-surprise``) or a whole-sequence score of
        their ranks. ``ranks``, ``surprises``: the sessions' events' when already computed."""
        if self.score == MAX_SURPRISE:
            return largest(self.event_surprises(X) if surprises is None else surprises)
        return self.scores_of_ranks(self.event_ranks(X) if ranks is None else ranks)

    def scores_of_ranks(self, ranks: Sequence[np.ndarray]) -> np.ndarray:
        """Session scores from per-event ranks (as :meth:`event_ranks` returns them), for every
        score but ``max-surprise``, which needs the sessions (:meth:`decision_function`)."""
        if self.score == MAX_SURPRISE:
            raise ValueError("max-surprise scores sessions, not ranks: use decision_function")
        if self.score == MAX_RANK:
            return session_scores(ranks)
        return whole_sequence_scores(ranks, self.unseen_rank, self.score, self.score_quantile)

    def calibrate_rule(
        self, scores: np.ndarray, target_fpr: float, top_k: int = 0, max_top_k: int = 0
    ) -> int | float:
        """The rule to flag with, from normal validation session ``scores``: a fixed ``top_k``
        or the calibrated one (capped at ``max_top_k``) for ``max-rank``, else the threshold
        with at most ``target_fpr`` of them above it (0 without scores)."""
        if not self.uses_top_k:
            return calibrate_threshold(scores, target_fpr) if len(scores) else 0.0
        cap = min(max_top_k or self.unseen_rank, self.unseen_rank)
        return top_k or calibrate_top_k(scores, target_fpr, cap)

    @property
    def uses_top_k(self) -> bool:
        """True when sessions are flagged by ``top_k`` (``max-rank``), else by a threshold."""
        return self.score == MAX_RANK

    def top_k_for(self, org: str | None) -> int:
        if org is not None and org in self.top_k_:
            return self.top_k_[org]
        if GLOBAL in self.top_k_:
            return self.top_k_[GLOBAL]
        raise KeyError(f"no top_k for organization {org!r}")

    def predict(self, X: Sequence[np.ndarray], org: str | None = None) -> np.ndarray:
        """True for sessions with an event (or end) outside ``org``'s top-k (``max-rank``), or
        whose whole-sequence score is above ``org``'s threshold."""
        return self.flag_scores(self.decision_function(X), org)

    def flag_scores(self, scores: np.ndarray, org: str | None) -> np.ndarray:
        if self.uses_top_k:
            return np.asarray(scores) >= self.top_k_for(org)
        return flag(scores, self.threshold_for(org)).astype(bool)
