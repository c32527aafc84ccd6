"""Incidents from alert files into an output folder (``incidents.json`` and the self-contained
``incidents.html``), and their STIX export: the API behind ``fedsec incidents`` and ``fedsec
detect --incidents``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

from fedsec.core import atomic, outputs
from fedsec.core.errors import ConfigError
from fedsec.forensics.alerts import read_alerts
from fedsec.forensics.grouping import (
    DEFAULT_GAP_S,
    DEFAULT_MIN_ALERTS,
    DEFAULT_MIN_SUPPORT,
    shared_addresses,
)
from fedsec.forensics.hosts import DEFAULT_INTERNAL, Networks
from fedsec.forensics.html import render_html
from fedsec.forensics.incidents import Findings, find_incidents, findings_json
from fedsec.forensics.provenance import provenance

WRITER = "fedsec incidents"  # the command named in its folder's marker
TLP_NAMES = ("clear", "white", "green", "amber", "red")
JSON_NAME = "incidents.json"
HTML_NAME = "incidents.html"
#: The longest --gap, in hours: a century (an infinite one cannot be written in the report).
MAX_GAP_H = 24 * 365 * 100


@dataclass(frozen=True)
class IncidentOptions:
    gap_s: float = DEFAULT_GAP_S
    min_alerts: int = DEFAULT_MIN_ALERTS
    min_support: int = DEFAULT_MIN_SUPPORT
    shared: Sequence[str] = ()  # addresses that are not one host: they link no alerts
    internal: Sequence[str] = DEFAULT_INTERNAL
    internal_domains: Sequence[str] = ()  # the organization's own domains (host names)
    default_org: str | None = None  # for alerts that name no organization
    stix: Path | None = None
    tlp: str = "amber"
    identity: str | None = None  # the reporting organization in the STIX bundle
    force: bool = False
    naive_zone: tzinfo | None = None  # the zone of alert times written without one

    def check(self) -> Networks:
        if not self.gap_s > 0:
            raise ConfigError(f"--gap must be positive, got {self.gap_s / 3600:g} h")
        if not self.gap_s <= MAX_GAP_H * 3600:  # infinity: the report could not be JSON
            raise ConfigError(
                f"--gap {self.gap_s / 3600:g} h: at most {MAX_GAP_H:,} h (a century); "
                "nothing was read or written"
            )
        if self.min_alerts < 1:
            raise ConfigError(f"--min-alerts must be at least 1, got {self.min_alerts}")
        if self.min_support < 1:
            raise ConfigError(f"--min-support must be at least 1, got {self.min_support}")
        shared_addresses(self.shared)
        if self.tlp not in TLP_NAMES:
            raise ConfigError(f"--tlp {self.tlp!r}: one of {', '.join(TLP_NAMES)}")
        return Networks(self.internal, self.internal_domains)


@dataclass
class IncidentRun:
    findings: Findings
    document: dict
    out: Path
    files: list[Path] = field(default_factory=list)


def check_targets(out: Path, options: IncidentOptions) -> Networks:
    """Refuse, before any work, options or outputs that cannot be used."""
    networks = options.check()
    outputs.check_target(out, force=options.force, writer=WRITER)
    if options.stix is not None:
        check_stix_outside(options.stix, out)
        outputs.check_file(options.stix, force=options.force, option="--stix")
        stix_exporter()
    return networks


def check_stix_outside(stix: Path, out: Path) -> None:
    """The STIX bundle is no file of the report folder: it would replace the report's own
    file, or stand there unlisted, so that the folder's next ``--force`` run refuses it."""
    folder = Path(out).resolve()
    if folder == Path(stix).resolve() or folder in Path(stix).resolve().parents:
        raise ConfigError(
            f"--stix {stix} is inside the report folder {out} (--out), whose files are the "
            "report's own; nothing was written: give the STIX bundle a path outside it"
        )


def reporting_identity(findings: Findings, options: IncidentOptions) -> str:
    """Who reports the STIX bundle: ``--identity``, else the one organization of the alerts."""
    if options.identity:
        return options.identity
    orgs = sorted({i.org for i in findings.incidents})
    if len(orgs) == 1:
        return orgs[0]
    raise ConfigError(
        "--stix needs --identity NAME (the reporting organization): the alerts name "
        + (f"{len(orgs)} organizations ({', '.join(orgs[:5])})" if orgs else "no organization")
    )


def stix_exporter() -> Callable[[Findings, dict, str, str, Networks], str]:
    """The STIX export, whose library is an extra: ``pip install 'fedsec[intel]'``."""
    try:
        from fedsec.forensics.stix import export_stix
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"--stix needs the {error.name} library: pip install 'fedsec[intel]'"
        ) from error
    return export_stix


def write_incidents(
    alert_files: Sequence[Path], out: Path, options: IncidentOptions
) -> IncidentRun:
    """Read the alerts, correlate them, write the report folder ``out`` (and the STIX bundle
    when asked and there is an incident to share); every file appears complete or not at
    all."""
    networks = check_targets(out, options)
    inputs = provenance(alert_files)  # the files as they are read (standard input: named)
    alerts = read_alerts(alert_files, options.default_org, options.naive_zone)
    findings = find_incidents(
        alerts,
        gap=options.gap_s,
        min_alerts=options.min_alerts,
        min_support=options.min_support,
        shared=shared_addresses(options.shared),
    )
    found = findings_json(findings, networks)
    document = {"settings": found["settings"], "provenance": inputs, **found}
    stix_text = None
    if options.stix is not None and findings.incidents:
        identity = reporting_identity(findings, options)
        stix_text = stix_exporter()(findings, document, identity, options.tlp, networks)
    with outputs.output_directory(out, WRITER, force=options.force) as staging:
        atomic.write_json(staging / JSON_NAME, document)
        atomic.write_text(staging / HTML_NAME, render_html(findings, document))
    written = [out / JSON_NAME, out / HTML_NAME]
    if stix_text is not None and options.stix is not None:
        atomic.write_text(options.stix, stix_text)
        written.append(options.stix)
    return IncidentRun(findings, document, out, written)
