"""``fedsec detect``: score telemetry or log sessions with a signed bundle, write alerts."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fedsec.cli.common import (
    Interrupted,
    ScanProgress,
    check_apart,
    check_distinct_inputs,
    check_not_an_input,
    check_spares_what_is_read,
    clean_errors,
    console,
    errors,
    files_of,
    telemetry_inputs,
)
from fedsec.cli.options import DETECT_FORMATS, parse_timezone
from fedsec.core import outputs
from fedsec.core.appending import check_appendable
from fedsec.core.console_text import holds_control, printable, shown
from fedsec.core.standard_streams import described, is_pipe, is_standard_output

if TYPE_CHECKING:
    from fedsec.data.mapping import Mapping
    from fedsec.detect.alert_options import AlertOptions


@clean_errors
def detect(
    model: Annotated[Path, typer.Option(help="Model bundle directory.")],
    format_: Annotated[
        str, typer.Option("--format", help=f"Input format; one of {DETECT_FORMATS}.")
    ],
    input_: Annotated[
        list[Path] | None,
        typer.Option(
            "--input",
            help="Telemetry file(s) to score: --input a.csv b.csv, or repeat --input; a "
            "folder stands for the files in it of --format (Zeek: its conn logs); '-' "
            "reads standard input (text formats; a named pipe alike), scored as it comes "
            "until it ends.",
        ),
    ] = None,
    more_inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILES",
            help="More telemetry files (those after one --input land here).",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="Mapping file for --format mapped (fedsec inspect FILE proposes one)."),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            help="Alerts file (JSON Lines); '-' sends them to standard output as they are "
            "scored (the summary then goes to standard error)."
        ),
    ] = Path("alerts.jsonl"),
    alert_format: Annotated[
        str,
        typer.Option(
            help="Alerts as 'ecs' (Elastic Common Schema documents), 'eve' (Suricata EVE alert "
            "events) or 'fedsec' (the flat records of earlier versions)."
        ),
    ] = "ecs",
    organization: Annotated[
        str | None,
        typer.Option(help="Organization named in each alert (organization.name; default: --org)."),
    ] = None,
    observer: Annotated[
        str | None,
        typer.Option(help="Sensor name written in each alert (observer.name; default: host name)."),
    ] = None,
    timezone: Annotated[
        str,
        typer.Option(help="Time zone (IANA name) of input times written without one."),
    ] = "UTC",
    org: Annotated[str | None, typer.Option(help="Use this organization's threshold.")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Malicious-score threshold, overriding the bundle's (classifier and anomaly "
            "bundles; a logs bundle's rule is calibrated per organization: use --org)."
        ),
    ] = None,
    templates: Annotated[
        Path | None, typer.Option(help="Logs: event id -> template text file (sequence inputs).")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Logs: prefix of event ids without template text.")
    ] = None,
    session_key: Annotated[
        str | None, typer.Option(help="Logs: regex of the session id in each line.")
    ] = None,
    session_window: Annotated[
        float, typer.Option(help="Logs: group lines into time windows of this many seconds.")
    ] = 0.0,
    log_format: Annotated[
        str | None, typer.Option(help="Logs: raw-log header layout or loghub system name.")
    ] = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            help="Trust bundles signed by this Ed25519 public key (.pub) or by an admin of the "
            "federation whose root CA this is (startup/rootCA.pem); repeatable.",
        ),
    ] = None,
    allow_unsigned: Annotated[
        bool,
        typer.Option(
            "--allow-unsigned",
            help="Use a bundle that is unsigned or signed by a key you do not trust "
            "(its authenticity is NOT checked).",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out file.")] = (
        False
    ),
    incidents: Annotated[
        Path | None,
        typer.Option(
            help="Also correlate the alerts into incidents: report folder (as fedsec incidents "
            "writes, default settings)."
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1, help="Threads of the model's forward pass (default: half the cores, 1 to 4)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Flow chunks scored at once, each in its own thread (default: the cores "
            "divided by --threads, 1 to 4); Parquet files of several row groups are scored by "
            "that many processes instead, a row group each in turn. The alerts are the same "
            "whatever the count.",
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Score the one input file as it grows (a Zeek log, a flow CSV, JSON lines), "
            "across rotation and truncation, until SIGINT/SIGTERM (standard input: or its "
            "end); alerts are written batch by batch.",
        ),
    ] = False,
    poll: Annotated[
        float,
        typer.Option(min=0.01, help="--follow: seconds between looks for new lines."),
    ] = 0.5,
    state: Annotated[
        Path | None,
        typer.Option(
            help="--follow: keep the reading position in this file after each batch; run "
            "again with the same --state to resume after the last scored line, appending to "
            "the alerts file (each alert once)."
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Set aside the lines the format's reader refuses (and flagged rows whose "
            "time, address or port is not one) in this file (JSON lines: source, data row, "
            "problem, line) and score the rest (text inputs: files, --follow, pipes); without "
            "it, one such line ends the run. An existing file is emptied only with --force "
            "(appended to when --state resumes)."
        ),
    ] = None,
    provenance: Annotated[
        Path | None,
        typer.Option(
            help="Write what this run scanned into this file (JSON): each input's path, bytes "
            "and sha256 (a pipe's: of the bytes read from it), the model's sha256, kind and "
            "signer, the fedsec version, the alerts file's sha256 (not with --follow)."
        ),
    ] = None,
) -> None:
    """Score telemetry (flows, or log sessions with a logs bundle) and write one alert per
    flagged flow or anomalous session. The bundle must be signed by a key you trust."""
    from fedsec.bundles.keys import user_trust
    from fedsec.data.logs import SessionOptions
    from fedsec.data.mapping import load_mapping
    from fedsec.data.readers import check_mapping_format
    from fedsec.detect.dispatch import run_detection
    from fedsec.detect.follow import FollowOptions, stop_on_signals
    from fedsec.detect.threads import inference_threads

    given = [*(input_ or []), *(more_inputs or [])]
    if not given:
        raise typer.BadParameter("give at least one file to score", param_hint="--input")
    inputs = telemetry_inputs(given, format_, follow=follow)
    check_mapping_format(format_, mapping is not None)  # before a mapping meets an input
    alert_options = _alert_options(alert_format, organization or org, observer, timezone)
    piped = is_standard_output(out)
    _check_outputs(inputs, out, state, follow=follow, force=force)
    read = [*files_of(outputs.resolve(model)), *filter(None, (mapping, templates)), *(trust or [])]
    outs = {"--out": out, "--state": state, "--rejects": rejects, "--provenance": provenance}
    check_spares_what_is_read(read, outs)
    if rejects is not None:
        for target in (out, state):
            if target is not None:
                check_not_an_input([target], rejects, "--rejects", "it holds other output")
        check_not_an_input(inputs, rejects, "--rejects", "it would replace the telemetry")
        _check_rejects(rejects, resuming=state is not None and state.exists(), force=force)
    scanned = _scanned(inputs, out, provenance, follow=follow, force=force)
    incident_options = None
    if incidents is not None:
        if piped:
            raise typer.BadParameter(
                "--incidents correlates the alerts file: give --out a file name, not '-'",
                param_hint="--incidents",
            )
        from fedsec.forensics.report import IncidentOptions, check_targets

        check_apart(incidents, "--incidents", outs)
        incident_options = IncidentOptions(default_org=organization or org, force=force)
        check_targets(incidents, incident_options)
    inference_threads(threads)
    loaded = load_mapping(mapping) if mapping is not None else None
    _say_missing_labels(inputs, loaded)
    options = SessionOptions(session_key, session_window, log_format, templates)
    # --follow runs until SIGINT/SIGTERM, which end it cleanly; a batch run keeps Ctrl-C as is
    scan = contextlib.nullcontext() if follow else ScanProgress("scoring")  # --follow: no end
    with (
        stop_on_signals() if follow else contextlib.nullcontext() as stop,
        scan as progress,
        _sent_on_interrupt() if piped else contextlib.nullcontext(),
    ):
        summary = run_detection(
            outputs.resolve(model),
            inputs,
            format_,
            out,
            org=org,
            threshold=threshold,
            namespace=namespace,
            options=options,
            trust=user_trust(trust or [], allow_unsigned),
            mapping=loaded,
            follow=FollowOptions(poll=poll, state=state) if follow else None,
            stop=stop,
            alert_options=alert_options,
            workers=workers,
            progress=progress,
            rejects=rejects,
        )
    authenticity = summary.authenticity
    if authenticity is not None and not authenticity.trusted:
        errors.print(
            f"[bold red]WARNING (--allow-unsigned):[/] {authenticity.describe()}. Nothing "
            "shows who wrote this model or that its weights, classes and thresholds are "
            "unchanged; do not act on these alerts without checking its origin.",
            highlight=False,
        )
    say = errors if piped else console  # standard output carries the alerts alone
    if authenticity is not None and authenticity.trusted:
        say.print(f"model {escape(authenticity.describe())}", highlight=False)
    scored = f"{summary.rows:,} {summary.unit}{'' if summary.rows == 1 else 's'} scored"
    alerts = f"{summary.alerts:,} alert{'' if summary.alerts == 1 else 's'}"
    grid = Table(
        "flagged as",
        "alerts",
        "the input's labels, and notes",
        title=f"{scored}, {alerts} → {described(out)}",
    )
    for family, count in summary.by_family.items():
        grid.add_row(shown(family), str(count), shown(summary.truth_note.get(family, "")))
    say.print(grid)
    for notice in summary.notices:
        errors.print(f"[bold yellow]note:[/] {escape(notice)}", highlight=False)
    for shift in summary.shifts:
        errors.print(f"[bold yellow]warning:[/] {escape(shift.describe())}", highlight=False)
    if provenance is not None and scanned is not None:
        from fedsec.detect.run_record import write_run_record

        write_run_record(provenance, outputs.resolve(model), scanned, out, summary, rejects)
    if incidents is not None and incident_options is not None:
        from fedsec.cli.incidents import show
        from fedsec.forensics.report import write_incidents

        show(write_incidents([out], incidents, incident_options))


def _say_missing_labels(inputs: list[Path], mapping: Mapping | None) -> None:
    """A mapping's label column absent from an input (a typo?) scores it as unlabeled: said.
    A pipe is not looked at: its header comes once, to the scan (read here, it was lost to
    it, and a named pipe's writer cut off)."""
    from fedsec.data.readers.mapped import missing_label

    for path in [p for p in inputs if not is_pipe(p)] if mapping is not None else []:
        missing = missing_label(path, mapping)
        if missing:
            note = f"{path}: {missing}: its rows are scored as unlabeled"
            errors.print(f"[bold yellow]note:[/] {escape(note)}", highlight=False)


def _check_outputs(
    inputs: list[Path], out: Path, state: Path | None, *, follow: bool, force: bool
) -> None:
    """Before anything is read: no output replaces an input, ``--state`` goes with
    ``--follow``, and an existing alerts file is replaced only with ``--force`` (appended to
    when a kept position resumes; standard output is no file)."""
    if state is not None and not follow:
        raise typer.BadParameter(
            "keeps the position of --follow: add --follow", param_hint="--state"
        )
    check_distinct_inputs(inputs)
    check_not_an_input(inputs, out, "--out", "the alerts would replace the telemetry")
    if state is not None:
        check_not_an_input(inputs, state, "--state", "the position would replace the telemetry")
        check_not_an_input([out], state, "--state", "the position would replace the alerts")
    resuming = state is not None and state.exists()
    if follow and not is_standard_output(out):
        check_appendable(out, "--out")  # written in place, never through a symlink
    if not is_standard_output(out) and not resuming:
        outputs.check_file(out, force=force)


def _scanned(
    inputs: list[Path], out: Path, provenance: Path | None, *, follow: bool, force: bool
) -> list[dict] | None:
    """With ``--provenance``, checked as an output, each input hashed before the scan."""
    if provenance is None:
        return None
    if follow:
        raise typer.BadParameter(
            "a file followed as it grows has no one hash: drop --follow or --provenance",
            param_hint="--provenance",
        )
    check_not_an_input([*inputs, out], provenance, "--provenance", "it holds other data")
    outputs.check_file(provenance, force=force, option="--provenance")
    from fedsec.detect.run_record import scanned

    return scanned(inputs)


def _check_rejects(rejects: Path, *, resuming: bool, force: bool) -> None:
    """The rejects file is never a symlink; an existing one is emptied only with ``--force``,
    and appended to only by a run resuming a kept position (its own, from before the stop)."""
    check_appendable(rejects, "--rejects")
    if not resuming:
        outputs.check_file(rejects, force=force, option="--rejects")


@contextlib.contextmanager
def _sent_on_interrupt() -> Iterator[None]:
    """Ctrl-C while alerts go to standard output: say that those sent stay sent."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(
            "the alerts sent to standard output before it stay with their reader"
        ) from None


def _alert_options(
    alert_format: str, organization: str | None, observer: str | None, timezone: str
) -> AlertOptions:
    """The alert options, each checked before anything is read."""
    from fedsec.detect.alert_options import AlertOptions
    from fedsec.detect.formats import ALERT_FORMATS

    if alert_format not in ALERT_FORMATS:
        raise typer.BadParameter(
            f"{alert_format!r} is not one of {', '.join(ALERT_FORMATS)}",
            param_hint="--alert-format",
        )
    for name, hint in ((organization, "--organization"), (observer, "--observer")):
        if name is not None and (not name.strip() or holds_control(name)):
            raise typer.BadParameter(
                f"'{printable(name)}' cannot name it in alerts: empty, or holding control or "
                "formatting characters",
                param_hint=hint,
            )
    naive_zone = parse_timezone(timezone)
    return AlertOptions(alert_format, organization, observer or socket.gethostname(), naive_zone)
