"""``fedsec incidents ALERTS... --out DIR``: correlate alerts into ranked incidents (JSON and an
HTML report with a timeline per incident), optionally exported as a STIX 2.1 bundle."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fedsec.cli.common import check_not_an_input, clean_errors, console
from fedsec.cli.options import parse_timezone
from fedsec.core.console_text import shown
from fedsec.forensics.grouping import DEFAULT_GAP_S, DEFAULT_MIN_ALERTS, DEFAULT_MIN_SUPPORT
from fedsec.forensics.hosts import DEFAULT_INTERNAL

if TYPE_CHECKING:  # the report's modules (matplotlib, stix2) load only when a command runs
    from fedsec.forensics.report import IncidentOptions, IncidentRun

MIN_GAP_H = 0.001


def checked_gap(hours: float) -> float:
    """``--gap``: a number of hours (NaN is none: click's own range check let it through
    with a misleading "must be >= 0.001"), at least ``MIN_GAP_H``."""
    if math.isnan(hours):
        raise typer.BadParameter(f"{hours} is not a number of hours")
    if hours < MIN_GAP_H:
        raise typer.BadParameter(f"{hours:g} h: must be at least {MIN_GAP_H} h")
    return hours


GapOption = Annotated[
    float,
    typer.Option(
        callback=checked_gap,
        help=f"Link alerts of one actor/target at most this many hours apart (>= {MIN_GAP_H}).",
    ),
]
MinAlertsOption = Annotated[
    int, typer.Option(min=1, help="Alerts an incident needs; smaller groups are kept as isolated.")
]
MinSupportOption = Annotated[
    int,
    typer.Option(
        min=1,
        help="Of them, alerts one family must hold on one host or in one burst (at most "
        "--min-alerts); scattered false positives chained through busy hosts hold fewer.",
    ),
]
SharedOption = Annotated[
    list[str] | None,
    typer.Option(
        "--shared-address",
        help="An address that is not one host (NAT, proxy, DNS server, gateway; repeatable): "
        "it links no alerts. Multicast and broadcast never do.",
    ),
]
InternalOption = Annotated[
    list[str] | None,
    typer.Option(
        "--internal",
        help="The organization's own network (CIDR; repeatable). Default: private, loopback, "
        "link-local and unique-local ranges. Only addresses outside them are ever exported.",
    ),
]
InternalDomainOption = Annotated[
    list[str] | None,
    typer.Option(
        "--internal-domain",
        help="The organization's own domain (repeatable): its host names and its subdomains' "
        "are internal, as are names of one label and special-use ones (.local, .internal, "
        ".home.arpa, ...). Only names outside them are ever exported.",
    ),
]


def check_not_an_option(stix: Path) -> None:
    """A ``--stix`` path that reads as an option (``--stix --out DIR``: the path was left out,
    so click took the next option as the file name) is refused, not written."""
    name = str(stix)
    if name.startswith("-") and name != "-":
        raise typer.BadParameter(
            f"{name!r} looks like an option, not a file name: give the STIX bundle's path after "
            f"--stix (a file that is really named so: ./{name})",
            param_hint="--stix",
        )


def options_from_cli(
    gap: float,
    min_alerts: int,
    internal: list[str] | None,
    org: str | None,
    stix: Path | None = None,
    tlp: str = "amber",
    identity: str | None = None,
    force: bool = False,
    timezone: str | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
    shared: list[str] | None = None,
    internal_domains: list[str] | None = None,
) -> IncidentOptions:
    from fedsec.forensics.report import IncidentOptions

    return IncidentOptions(
        gap_s=gap * 3600,
        min_alerts=min_alerts,
        min_support=min_support,
        shared=tuple(shared or ()),
        internal=tuple(internal) if internal else DEFAULT_INTERNAL,
        internal_domains=tuple(internal_domains or ()),
        default_org=org,
        stix=stix,
        tlp=tlp,
        identity=identity,
        force=force,
        naive_zone=None if timezone is None else parse_timezone(timezone),
    )


def show(run: IncidentRun, stix: Path | None = None) -> None:
    from fedsec.forensics.incidents import duplicates_note

    summary = run.document["summary"]
    grid = Table(
        "rank",
        "severity",
        "risk",
        "organization",
        "first seen",
        "alerts",
        "incident",
        title=f"{summary['alerts']} alerts → {summary['incidents']} incidents "
        f"({summary['isolated_alerts']} isolated alerts{duplicates_note(summary)}) → {run.out}",
    )
    for record in run.document["incidents"][:20]:
        grid.add_row(
            str(record["rank"]),
            shown(record["severity"]),
            f"{record['risk_score']:g}",
            shown(record["organization"]),
            shown(record["first_seen"] or "unknown"),
            str(record["alerts"]),
            shown(record["title"]),
        )
    console.print(grid)
    if len(run.document["incidents"]) > 20:
        console.print(f"... and {len(run.document['incidents']) - 20} more in the report")
    for path in run.files[2:]:
        console.print(f"STIX 2.1 bundle → {escape(str(path))}", highlight=False)
    if stix is not None and not run.document["incidents"]:
        console.print(
            f"no incident: nothing to share, {escape(str(stix))} not written", highlight=False
        )


@clean_errors
def incidents(
    alerts: Annotated[
        list[Path],
        typer.Argument(
            metavar="ALERTS",
            help="Alert files (JSON lines) written by fedsec detect; '-' reads standard input "
            "(fedsec detect --out - | fedsec incidents -).",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Report folder (incidents.json, incidents.html).")] = (
        Path("incidents")
    ),
    gap: GapOption = DEFAULT_GAP_S / 3600,
    min_alerts: MinAlertsOption = DEFAULT_MIN_ALERTS,
    min_support: MinSupportOption = DEFAULT_MIN_SUPPORT,
    shared: SharedOption = None,
    internal: InternalOption = None,
    internal_domain: InternalDomainOption = None,
    org: Annotated[str | None, typer.Option(help="Organization of alerts that name none.")] = None,
    stix: Annotated[
        Path | None, typer.Option(help="Also export the incidents as a STIX 2.1 bundle here.")
    ] = None,
    tlp: Annotated[
        str, typer.Option(help="TLP marking of the STIX bundle: clear, green, amber, red.")
    ] = "amber",
    identity: Annotated[
        str | None,
        typer.Option(help="Reporting organization in the STIX bundle (default: the alerts')."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an earlier report / STIX file.")
    ] = False,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Time zone (IANA name) of alert times written without one, as fedsec detect's "
            "--timezone (flat alerts of earlier versions); default: such times are refused."
        ),
    ] = None,
) -> None:
    """Group alerts of the same actor, target and family over time into incidents (kill-chain
    stages, ATT&CK techniques, hosts, first/last seen), ranked by risk. Nothing leaves the
    machine: the STIX bundle is written only with --stix, and holds external addresses and
    host names only."""
    from fedsec.forensics.report import write_incidents

    if stix is not None:
        check_not_an_option(stix)
        check_not_an_input(alerts, stix, "--stix", "the bundle would replace the alerts")
    options = options_from_cli(
        gap,
        min_alerts,
        internal,
        org,
        stix,
        tlp,
        identity,
        force,
        timezone,
        min_support,
        shared,
        internal_domain,
    )
    show(write_incidents(alerts, out, options), stix)
