"""Build a log federation: read sessions, hash events into the shared vocabulary, split, partition.

How splits are built (the offline copies lack most official normal test files):
* **normal** sessions are split into train / validation / test *by content*: identical event
  sequences form one group and a group goes to one side only, so no test (or validation)
  sequence is one the model trained on; the test measures generalization, not memorization;
* **abnormal** sessions are never trained on; each organization's test set takes its normal test
  sessions plus ``test_abnormal_ratio`` abnormal sessions per normal one (seeded sample);
* with ``partition.rule = "iid"`` the split is done once over the pooled sessions and every split
  is then dealt out to the organizations session by session, so a common sequence is held by
  every organization (as in reality) while test sequences stay unseen by all of them;
  ``per-source`` makes each source's organization its own pool.
Validation holds normal sessions only: ``top_k`` and thresholds never see an anomaly or the test.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fedsec.core import seeding
from fedsec.core.errors import ConfigError
from fedsec.data.logs import SessionOptions, read_sessions
from fedsec.data.logs.sessions import ANOMALOUS, NORMAL, UNKNOWN, SessionTable
from fedsec.data.logs.windows import trace_windows
from fedsec.features.vocabulary import EventVocabulary
from fedsec.scenarios import partition
from fedsec.scenarios.config import Scenario
from fedsec.scenarios.federation import resolve_data_dir, resolve_paths
from fedsec.scenarios.logs_config import LogSourceConfig

LABEL_OF = {"normal": NORMAL, "abnormal": ANOMALOUS}
_log = logging.getLogger(__name__)


@dataclass
class Pool:
    """Encoded sessions of one or more sources (token arrays, labels, ids, systems, and the
    file each came from: an anomalous session's file names its kind of anomaly)."""

    tokens: list[np.ndarray]
    labels: np.ndarray
    ids: np.ndarray
    systems: np.ndarray
    texts: dict[int, str] = field(default_factory=dict)
    origins: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.origins is None:
            self.origins = self.systems.copy()

    def take(self, rows: np.ndarray) -> Pool:
        return Pool(
            [self.tokens[i] for i in rows],
            self.labels[rows],
            self.ids[rows],
            self.systems[rows],
            self.texts,
            self.origins[rows],
        )

    def windowed(self, length: int, stride: int) -> Pool:
        """Each session cut into windows of ``length`` events every ``stride`` events."""
        windows, owners, starts = trace_windows(self.tokens, length, stride)
        ids = np.asarray([f"{self.ids[o]}@{s}" for o, s in zip(owners, starts, strict=True)])
        taken = self.take(owners)
        return Pool(
            windows, taken.labels, ids.astype(object), taken.systems, self.texts, taken.origins
        )


@dataclass
class LogOrg:
    """One organization's private sessions: normal train and validation, labelled test."""

    name: str
    train: Pool
    val: Pool
    test: Pool

    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train.tokens),
            "val": len(self.val.tokens),
            "test_normal": int((self.test.labels == NORMAL).sum()),
            "test_abnormal": int((self.test.labels == ANOMALOUS).sum()),
        }


@dataclass
class LogFederation:
    scenario: Scenario
    vocabulary: EventVocabulary
    orgs: list[LogOrg]
    notes: list[str] = field(default_factory=list)
    event_texts: set[str] = field(default_factory=set)


def read_log_source(
    source: LogSourceConfig, root: Path, scenario: Scenario, vocabulary: EventVocabulary
) -> tuple[Pool, set[str], list[str]]:
    """One source's sessions as tokens, labelled as the scenario says; the event texts hashed."""
    single = [] if source.templates is None else resolve_paths([source.templates], root)
    labels = [] if source.labels is None else resolve_paths([source.labels], root)
    options = SessionOptions(
        session_key=source.session_key,
        session_window=source.session_window,
        log_format=source.log_format,
        templates=single[0] if single else None,
        labels=labels[0] if labels else None,
    )
    table = read_sessions(source.format, resolve_paths(source.paths, root), options)
    notes = [f"{source.name}: {n}" for n in table.notes]
    if source.label != "file":
        table = table.with_label(LABEL_OF[source.label])
    table, more = _usable(table, source, scenario)
    notes += more
    namespace = source.namespace or source.name
    tokens = vocabulary.encode(table.events, table.templates, namespace)
    events = {e for session in table.events for e in session}
    texts = {vocabulary.event_text(e, table.templates, namespace) for e in events}
    pool = Pool(
        tokens,
        table.labels,
        table.ids,
        np.full(len(table), source.name, dtype=object),
        vocabulary.texts_by_token(table.templates, namespace),
        np.asarray([origin_name(f) for f in table.source_file], dtype=object),
    )
    return pool, texts, notes


def origin_name(file_name: str) -> str:
    """A file's name without its compression and text suffixes (``hadoop_test_abnormal``)."""
    name = Path(str(file_name)).name
    for suffix in (".gz", ".bz2", ".xz", ".zst", ".csv", ".txt", ".log"):
        name = name.removesuffix(suffix)
    return name


def _usable(
    table: SessionTable, source: LogSourceConfig, scenario: Scenario
) -> tuple[SessionTable, list[str]]:
    notes = []
    unknown = np.flatnonzero(table.labels == UNKNOWN)
    if len(unknown) and len(unknown) == len(table):  # else every one left out: nothing to learn
        raise ConfigError(
            f"logs source {source.name!r} ({', '.join(source.paths)}): none of its "
            f'{len(table)} sessions carries a label; label = "file" reads labels from the '
            "file (loghub's Label column) or a `labels` CSV: give one, or set label = "
            '"normal" or "abnormal"'
        )
    if len(unknown):
        notes.append(f"{source.name}: {len(unknown)} sessions without a label left out")
        table = table.take(np.flatnonzero(table.labels != UNKNOWN))
    if source.keep != "all":
        kept = np.flatnonzero(table.labels == LABEL_OF[source.keep])
        notes.append(f"{source.name}: kept the {len(kept)} {source.keep} of {len(table)} sessions")
        table = table.take(kept)
    if source.max_sessions and len(table) > source.max_sessions:
        rng = seeding.rng(scenario.seed, "cap", source.name, source.paths[0])
        rows = np.sort(rng.choice(len(table), source.max_sessions, replace=False))
        notes.append(f"{source.name}: seeded sample of {len(rows)} of {len(table)} sessions")
        table = table.take(rows)
    return table, notes


def concat_pools(pools: list[Pool]) -> Pool:
    texts: dict[int, str] = {}
    for pool in pools:
        texts.update(pool.texts)
    return Pool(
        [t for p in pools for t in p.tokens],
        np.concatenate([p.labels for p in pools]),
        np.concatenate([p.ids for p in pools]),
        np.concatenate([p.systems for p in pools]),
        texts,
        np.concatenate([p.origins for p in pools]),
    )


def content_groups(tokens: list[np.ndarray]) -> np.ndarray:
    """One id per distinct event sequence."""
    index: dict[bytes, int] = {}
    return np.asarray([index.setdefault(t.tobytes(), len(index)) for t in tokens], np.int64)


def split_pool(
    pool: Pool, scenario: Scenario, purpose: str
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Row indices of normal train / val / test (grouped by content) and of abnormal sessions."""
    groups = content_groups(pool.tokens)
    normal = np.flatnonzero(pool.labels == NORMAL)
    abnormal = np.flatnonzero(pool.labels == ANOMALOUS)
    strata = np.full(len(normal), "normal", dtype=object)
    rng = seeding.rng(scenario.seed, "logs-split", purpose)
    held = partition.grouped_split(groups[normal], strata, scenario.split.test_size, rng)
    rest = normal[~held]
    in_val = partition.grouped_split(
        groups[rest], strata[: len(rest)], scenario.split.val_size, rng
    )
    rows = {"train": rest[~in_val], "val": rest[in_val], "test": normal[held], "abnormal": abnormal}
    return rows, _duplicate_notes(purpose, groups, pool.labels, rows)


def _duplicate_notes(
    purpose: str, groups: np.ndarray, labels: np.ndarray, rows: dict[str, np.ndarray]
) -> list[str]:
    normal = labels == NORMAL
    distinct = len(np.unique(groups[normal]))
    seen = set(groups[np.concatenate([rows["train"], rows["val"]])].tolist())
    both = sum(1 for g in groups[rows["abnormal"]] if g in seen)
    notes = [
        f"{purpose}: {int(normal.sum())} normal sessions, {distinct} distinct sequences; "
        f"{int((~normal).sum())} abnormal sessions, "
        f"{len(np.unique(groups[~normal]))} distinct; identical sequences never straddle "
        "train/validation/test"
    ]
    if both:
        notes.append(
            f"{purpose}: {both} abnormal sessions repeat a sequence labelled normal in training "
            "(kept in test: no sequence model can flag them)"
        )
    return notes


def deal(rows: np.ndarray, orgs: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Sessions dealt out to ``orgs`` organizations at random, as evenly as possible."""
    return [np.sort(part) for part in np.array_split(rng.permutation(rows), orgs)]


def build_log_federation(scenario: Scenario, data_dir: str | Path | None) -> LogFederation:
    """Read every source and hand each organization its private splits."""
    logs = scenario.logs
    vocabulary = EventVocabulary(logs.hash_buckets, logs.hash_key)
    root = resolve_data_dir(data_dir, logs.paths())
    by_name: dict[str, list[Pool]] = {}
    notes: list[str] = []
    texts: set[str] = set()
    for source in logs.sources:
        pool, source_texts, more = read_log_source(source, root, scenario, vocabulary)
        by_name.setdefault(source.name, []).append(pool)
        texts |= source_texts
        notes += more
    notes += namespace_warnings(logs.sources)
    names = scenario.org_names()
    if scenario.partition.rule == "per-source":
        pools = {name: concat_pools(by_name[name]) for name in names}
        orgs = [_org_from_pool(name, pools[name], scenario, notes) for name in names]
    else:
        orgs = _iid_orgs(
            concat_pools([p for ps in by_name.values() for p in ps]), names, scenario, notes
        )
    if logs.trace_window:
        orgs = [
            _windowed(org, logs.trace_window, logs.trace_stride or logs.trace_window)
            for org in orgs
        ]
        notes.append(
            f"long traces: sessions cut into windows of {logs.trace_window} events every "
            f"{logs.trace_stride or logs.trace_window} (after the split: no session straddles it)"
        )
    check_orgs_learn(orgs)
    return LogFederation(scenario, vocabulary, orgs, notes, texts)


def check_orgs_learn(orgs: list[LogOrg]) -> None:
    """Every organization holds normal sessions to train and calibrate on (none ended in a
    traceback from training: ``local_update needs at least one training row``)."""
    for org in orgs:
        sizes = org.sizes()
        if not (sizes["train"] and sizes["val"]):
            raise ConfigError(
                f"logs: organization {org.name} has {sizes['train']} normal training and "
                f"{sizes['val']} normal validation sessions; each organization learns normal "
                "sequences from its own: give the scenario more normal sessions (label = "
                '"normal", or labels in the file) or fewer organizations'
            )


def _windowed(org: LogOrg, length: int, stride: int) -> LogOrg:
    return LogOrg(
        org.name,
        org.train.windowed(length, stride),
        org.val.windowed(length, stride),
        org.test.windowed(length, stride),
    )


def namespace_warnings(sources: list[LogSourceConfig]) -> list[str]:
    """Warn when a source of anomalous sessions hashes event ids under a namespace no source of
    normal sessions uses: its events without template text can never match a normal event, so
    every such session looks "never seen" and detection results mean nothing."""
    normal = {
        s.namespace or s.name for s in sources if s.label != "abnormal" and s.keep != "abnormal"
    }
    warnings = []
    for source in sources:
        namespace = source.namespace or source.name
        if (source.label == "abnormal" or source.keep == "abnormal") and namespace not in normal:
            warnings.append(
                f"WARNING: source {source.name!r} holds anomalous sessions under event namespace "
                f"{namespace!r}, which no source of normal sessions shares "
                f"({', '.join(sorted(normal)) or 'none'}): its event ids without template text "
                "are never-seen events by construction; give it the normal sources' namespace"
            )
            _log.warning(warnings[-1])
    return warnings


def _org_from_pool(name: str, pool: Pool, scenario: Scenario, notes: list[str]) -> LogOrg:
    rows, more = split_pool(pool, scenario, name)
    notes += more
    rng = seeding.rng(scenario.seed, "logs-test", name)
    test = _test_rows(rows["test"], rows["abnormal"], scenario, rng, name, notes)
    return LogOrg(name, pool.take(rows["train"]), pool.take(rows["val"]), pool.take(test))


def _iid_orgs(pool: Pool, names: list[str], scenario: Scenario, notes: list[str]) -> list[LogOrg]:
    rows, more = split_pool(pool, scenario, "pooled")
    notes += more
    rng = seeding.rng(scenario.seed, "logs-partition")
    parts = {split: deal(r, len(names), rng) for split, r in rows.items()}
    orgs = []
    for i, name in enumerate(names):
        test_rng = seeding.rng(scenario.seed, "logs-test", name)
        test = _test_rows(parts["test"][i], parts["abnormal"][i], scenario, test_rng, name, notes)
        orgs.append(
            LogOrg(name, pool.take(parts["train"][i]), pool.take(parts["val"][i]), pool.take(test))
        )
    return orgs


def _test_rows(
    normal: np.ndarray,
    abnormal: np.ndarray,
    scenario: Scenario,
    rng: np.random.Generator,
    name: str,
    notes: list[str],
) -> np.ndarray:
    ratio = scenario.logs.test_abnormal_ratio
    wanted = len(abnormal) if ratio <= 0 else round(ratio * len(normal))
    if len(abnormal) == 0:
        notes.append(f"{name}: no abnormal sessions available; judged on false alarms only")
    elif wanted < len(abnormal):
        abnormal = np.sort(rng.choice(abnormal, wanted, replace=False))
    elif wanted > len(abnormal):
        notes.append(
            f"{name}: only {len(abnormal)} abnormal sessions for {len(normal)} normal test "
            f"sessions (ratio {ratio}); all used"
        )
    return np.concatenate([normal, abnormal])
