"""The one detection entry point: the bundle's kind names its task (the task registry) and its
detector, which scores the input.

A kind's scorer is imported when a bundle of that kind is scored: classifier, tree and anomaly
bundles score without torch (:mod:`fedsec.models.mlp_arrays`, saving the CPU second importing
it costs); the log kind imports it with its network. The run's alerts name the bundle as
:func:`~fedsec.detect.alert_options.alert_format` says."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fedsec.bundles.bundle import authenticate, bundle_kind, load_manifest
from fedsec.bundles.fields import ANOMALY_KIND, CLASSIFIER_KIND, LOGS_KIND, TREE_KIND
from fedsec.bundles.keys import user_trust
from fedsec.bundles.signing import Authenticity, Trust
from fedsec.core.errors import BundleError, InputError
from fedsec.core.standard_streams import described_input, is_pipe
from fedsec.data.byte_counts import scoring_note
from fedsec.data.logs import LOG_FORMATS, SessionOptions
from fedsec.data.mapping import Mapping
from fedsec.data.readers import FORMATS
from fedsec.detect.alert_options import AlertOptions, alert_format
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.drift import name_columns
from fedsec.detect.file_batches import score_files_setting_aside
from fedsec.detect.follow import FollowOptions, run_follow, run_until_end
from fedsec.detect.formats import FLAT, AlertFormat
from fedsec.detect.records import DetectionSummary
from fedsec.detect.scoring import ChunkScorer, score_files
from fedsec.detect.threads import torch_threads


@dataclass(frozen=True)
class DetectionRequest:
    """What to score and how: the same options whatever the bundle's task."""

    inputs: Sequence[Path]
    fmt: str
    out: Path
    org: str | None
    threshold: float | None
    namespace: str | None
    options: SessionOptions | None
    trust: Trust
    mapping: Mapping | None = None
    alerts: AlertFormat = FLAT
    follow: FollowOptions | None = None  # --follow: score the one input as it grows
    stop: threading.Event | None = None  # ... until this is set
    workers: int | None = None  # chunks scored at once (None: threads.scoring_workers)
    progress: Callable[[int, int], None] | None = None  # told (rows, alerts) after each chunk
    rejects: Path | None = None  # refused lines set aside here (else one ends the run)


Detector = Callable[[Path, DetectionRequest], DetectionSummary]


def _tree_scorer(model_dir: Path, r: DetectionRequest) -> ChunkScorer:
    from fedsec.bundles.tree_bundle import load_tree_bundle

    return flow_scorer(
        model_dir, r.inputs, r.fmt, r.org, r.threshold, r.trust, load_tree_bundle, r.alerts
    )


def _anomaly_scorer(model_dir: Path, r: DetectionRequest) -> ChunkScorer:
    from fedsec.detect.anomaly_alerts import anomaly_scorer

    return anomaly_scorer(
        model_dir,
        r.inputs,
        r.fmt,
        org=r.org,
        threshold=r.threshold,
        trust=r.trust,
        alerts=r.alerts,
    )


def _log_detection(model_dir: Path, r: DetectionRequest) -> DetectionSummary:
    from fedsec.detect.logs import run_log_detection

    torch_threads()
    return run_log_detection(
        model_dir,
        r.inputs,
        r.fmt,
        r.out,
        org=r.org,
        namespace=r.namespace,
        options=r.options,
        trust=r.trust,
        alerts=r.alerts,
    )


#: The chunk scorer of each bundle kind that scores flows (what a batch run feeds chunk by
#: chunk, and --follow batch by batch).
SCORERS: dict[str, Callable[[Path, DetectionRequest], ChunkScorer]] = {
    CLASSIFIER_KIND: lambda model_dir, r: flow_scorer(
        model_dir, r.inputs, r.fmt, r.org, r.threshold, r.trust, alerts=r.alerts
    ),
    TREE_KIND: _tree_scorer,
    ANOMALY_KIND: _anomaly_scorer,
}


def _scored_files(kind: str) -> Detector:
    """A flow kind's detector: its scorer over the input files, chunk by chunk."""

    def detect(model_dir: Path, r: DetectionRequest) -> DetectionSummary:
        score = SCORERS[kind](model_dir, r)
        mapping = model_columns(r.mapping, score)
        pace = {"workers": r.workers, "progress": r.progress}
        if r.rejects is not None:  # a historical scan goes on past a malformed line
            summary = score_files_setting_aside(
                score, r.fmt, r.inputs, r.out, r.rejects, mapping, **pace
            )
        else:
            summary = score_files(score, r.fmt, r.inputs, r.out, mapping, **pace)
        return with_input_notes(summary, score, r.fmt, r.mapping)

    return detect


#: The detector of each bundle kind (every kind a registered task ships has one: tests/detect).
DETECTORS: dict[str, Detector] = {
    **{kind: _scored_files(kind) for kind in SCORERS},
    LOGS_KIND: _log_detection,
}
#: Why a detection option does not apply to a kind's bundles (kinds not named take them all).
REFUSED_OPTIONS: dict[str, Callable[[float | None, str | None], str | None]] = {
    LOGS_KIND: lambda threshold, namespace: (
        "--threshold does not apply to a logs bundle (its rule was calibrated per organization)"
        if threshold is not None
        else None
    ),
}


def batchwise_detection(model_dir: Path, kind: str, request: DetectionRequest) -> DetectionSummary:
    """The one input scored batch by batch: ``--follow``, as the file grows, until
    ``request.stop`` (a pipe: or its end); a pipe (``--input -``, a named pipe), as it comes,
    until it ends, the alerts written atomically or to standard output."""
    following = request.follow is not None
    _check_batchwise(
        model_dir,
        kind,
        request,
        "--follow follows one file; give exactly one input"
        if following
        else "a pipe is scored alone; give no other input",
    )
    score = SCORERS[kind](model_dir, request)
    path, fmt, out = Path(request.inputs[0]), request.fmt, request.out
    options = dataclasses.replace(request.follow or FollowOptions(), rejects=request.rejects)
    mapping = model_columns(request.mapping, score)
    if request.follow is not None:
        stop = request.stop if request.stop is not None else threading.Event()
        summary = run_follow(path, fmt, out, score, score.summary, stop, options, mapping)
    else:
        pace = {"workers": request.workers, "progress": request.progress}
        summary = run_until_end(path, fmt, out, score, options, mapping=mapping, **pace)
    return with_input_notes(summary, score, fmt, request.mapping)


def with_input_notes(
    summary: DetectionSummary, score: ChunkScorer, fmt: str, mapping: Mapping | None
) -> DetectionSummary:
    """The summary, with the input's column of each feature far from its training values and
    a note when the input counts bytes otherwise than the model's training data (``fedsec
    detect``'s and ``fedsec hunt``'s)."""
    name_columns(summary.shifts, score.model.view, mapping)
    provenance = score.manifest.get("provenance", {})
    note = scoring_note(score.model.view, provenance, fmt, mapping)
    if note is not None:
        summary.notices.append(note)
    return summary


def model_columns(mapping: Mapping | None, *scorers: ChunkScorer) -> Mapping | None:
    """A mapping that leaves its native features implicit ("every other column") read for
    native-view models as exactly the columns they were trained on (of several, each one's):
    a column the file adds (a comment, a column of another tool) is not a feature, so it is
    neither parsed nor refused, and a column a model needs and the file lacks is named."""
    if mapping is None or mapping.native is not None:
        return mapping
    if any(score.model.view != "native" for score in scorers):
        return mapping
    columns: dict[str, None] = {}
    for score in scorers:
        pre = score.model.preprocessor
        columns.update(dict.fromkeys([s.name for s in pre.numeric] + pre.categorical))
    return mapping.model_copy(update={"native": list(columns)})


def _check_batchwise(model_dir: Path, kind: str, request: DetectionRequest, alone: str) -> None:
    """A bundle that scores rows (not whole log sessions) and one input, read batch by batch."""
    if kind not in SCORERS:
        raise InputError(
            model_dir,
            f"a {kind!r} bundle cannot score a file as it grows or a pipe as it comes: it "
            "scores whole log sessions; run fedsec detect on the finished log instead",
        )
    if len(request.inputs) != 1:
        raise InputError(described_input(request.inputs[0]), alone)


def run_detection(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    out: Path,
    *,
    org: str | None = None,
    threshold: float | None = None,
    namespace: str | None = None,
    options: SessionOptions | None = None,
    trust: Trust | None = None,
    mapping: Mapping | None = None,
    alert_options: AlertOptions | None = None,
    follow: FollowOptions | None = None,
    stop: threading.Event | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    rejects: Path | None = None,
) -> DetectionSummary:
    """Alerts from any bundle: the manifest's kind picks its detector (the one dispatch; the
    kind and the options are checked first: :func:`check_kind_and_options`), once the bundle's
    signature is verified against ``trust`` (default: the user's trusted keys). Alerts are ECS
    documents unless ``alert_options`` says otherwise. ``follow``: score the one input as it
    grows, until ``stop`` is set. ``workers``: flow chunks scored at once (default: as many as
    the cores allow, :func:`fedsec.detect.threads.scoring_workers`); ``progress(rows, alerts)``:
    told the rows scored and the alerts written so far as a flow file is scored."""
    kind, authenticity, trust = _verified(model_dir, trust, threshold, namespace)
    check_format_for_kind(model_dir, kind, fmt, options)
    piped = any(is_pipe(path) for path in inputs)
    alerts = alert_format(model_dir, kind, org, alert_options or AlertOptions(), authenticity)
    request = DetectionRequest(
        inputs,
        fmt,
        out,
        org,
        threshold,
        namespace,
        options,
        trust,
        mapping,
        alerts,
        follow,
        stop,
        workers,
        progress,
        rejects,
    )
    if rejects is not None and kind not in SCORERS:
        raise InputError(
            rejects, f"sets aside lines of flow files: a {kind!r} bundle scores whole log sessions"
        )
    if follow is not None or piped:
        summary = batchwise_detection(model_dir, kind, request)
    else:
        summary = DETECTORS[kind](model_dir, request)
    summary.authenticity = authenticity
    return summary


def flow_chunk_scorer(
    model_dir: Path,
    inputs: Sequence[Path],
    fmt: str,
    *,
    org: str | None = None,
    threshold: float | None = None,
    trust: Trust | None = None,
    mapping: Mapping | None = None,
    alert_options: AlertOptions | None = None,
) -> tuple[ChunkScorer, Authenticity | None]:
    """A flow bundle's chunk scorer, checked and its signature verified as
    :func:`run_detection` does (what ``fedsec hunt`` scores its two models with)."""
    kind, authenticity, trust = _verified(model_dir, trust, threshold, None)
    if kind not in SCORERS:
        raise BundleError(f"{model_dir}: a {kind!r} bundle scores log sessions, not flow rows")
    alerts = alert_format(model_dir, kind, org, alert_options or AlertOptions(), authenticity)
    request = DetectionRequest(
        inputs, fmt, Path(), org, threshold, None, None, trust, mapping, alerts
    )  # ``out`` unused: the caller writes the lines
    return SCORERS[kind](model_dir, request), authenticity


def _verified(
    model_dir: Path, trust: Trust | None, threshold: float | None, namespace: str | None
) -> tuple[str, Authenticity | None, Trust]:
    """The bundle's kind and authenticity (against ``trust``, default the user's trusted keys),
    its kind and the options checked; the trust used."""
    trust = trust if trust is not None else user_trust()
    manifest = load_manifest(model_dir)
    authenticity = authenticate(model_dir, manifest, trust)
    kind = bundle_kind(manifest)
    check_kind_and_options(model_dir, kind, threshold, namespace)
    return kind, authenticity, trust


def check_kind_and_options(
    model_dir: Path, kind: str, threshold: float | None, namespace: str | None
) -> None:
    """Refuse a bundle kind no registered task ships, and a detection option its detector
    refuses. The task registry imports every task's training code (torch, scikit-learn and
    SciPy with it: ~3 s at start-up), so it is read only for a kind without a detector here
    (every kind a task ships has one: tests/detect/test_dispatch.py)."""
    if kind not in DETECTORS:
        from fedsec.tasks.registry import TASKS

        known = ", ".join(k for t in TASKS.values() for k in t.bundle_kinds())
        raise BundleError(f"{model_dir}: unknown bundle kind {kind!r} (known: {known})")
    refuses = REFUSED_OPTIONS.get(kind)
    refusal = refuses(threshold, namespace) if refuses else None
    if refusal is not None:
        raise InputError(model_dir, refusal)


def check_format_for_kind(
    model_dir: Path, kind: str, fmt: str, options: SessionOptions | None
) -> None:
    """A logs bundle scores log formats, the others flow formats; logs options go with logs
    bundles only. Said of the bundle, before any input is read (a flow file given to a logs
    bundle was blamed for an "unknown log format 'flows'")."""
    logs = kind == LOGS_KIND
    if logs and fmt in FORMATS:  # a flow format (an unknown one is the reader's to name)
        raise InputError(
            model_dir,
            f"a logs bundle scores log sessions: --format is one of {', '.join(LOG_FORMATS)}, "
            f"not {fmt!r} (score flows with a classifier or anomaly bundle)",
        )
    if not logs and fmt in LOG_FORMATS:
        raise InputError(
            model_dir,
            f"this {kind} bundle scores flows: {fmt!r} is a log format (score log sessions "
            "with a logs bundle)",
        )
    given = [] if options is None else _logs_options(options)
    if not logs and given:
        raise InputError(
            model_dir, f"{', '.join(given)}: for log sessions only, not with this {kind} bundle"
        )


def _logs_options(options: SessionOptions) -> list[str]:
    flags = {
        "--session-key": options.session_key is not None,
        "--session-window": bool(options.session_window),
        "--log-format": options.log_format is not None,
        "--templates": options.templates is not None,
    }
    return [flag for flag, given in flags.items() if given]
