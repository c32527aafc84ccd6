"""``fedsec federation ledger``: what a site's privacy ledger holds, and forgetting a site.

A site's ``local/fedsec_privacy_ledger.json`` keeps every DP-SGD step it took over all jobs
(``[privacy] lifetime_epsilon`` bounds their composed epsilon) and, per digest of its data, the
sites its secure statistics were summed over (``[privacy] statistics_rosters``), the
submissions whose final model it evaluated (once each), and each global model its
``[model_check]`` refused (beyond ``[model_check] max_refusals`` the site takes part
in no job). Its operator reads it here, removes the entries of a site that left the consortium
for good (otherwise the statistics of the others' unchanged data are refused until the data
change), and resets the model-check refusals once reviewed. Registered on the main app by
:mod:`fedsec.cli.main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape

from fedsec.cli.common import clean_errors, console
from fedsec.cli.options import federation_app
from fedsec.core.errors import ConfigError

if TYPE_CHECKING:
    from fedsec.engines.nvflare.ledger_file import LedgerFile

DEFAULT_DELTA = 1e-5


@federation_app.command("ledger")
@clean_errors
def ledger_command(
    local: Annotated[
        Path,
        typer.Argument(help="The site kit's local/ folder (or its fedsec_privacy_ledger.json)."),
    ],
    forget_site: Annotated[
        str | None,
        typer.Option(
            "--forget-site",
            help="Remove every statistics entry summed with this site (one gone for good).",
        ),
    ] = None,
    reset_model_check: Annotated[
        bool,
        typer.Option(
            "--reset-model-check",
            help="Forget the global models [model_check] refused (reviewed: the site takes "
            "part in jobs again).",
        ),
    ] = False,
    accountant: Annotated[
        Literal["rdp", "prv"], typer.Option(help="Accountant composing the recorded steps.")
    ] = "rdp",
) -> None:
    """Show the epsilon a site spent over every job, the sites each of its data sets'
    statistics were summed over and the models its [model_check] refused; --forget-site
    removes a departed site's entries, --reset-model-check the refusals."""
    from fedsec.engines.nvflare.ledger_file import LEDGER_FILE, LedgerFile

    path = local / LEDGER_FILE if local.is_dir() else local
    if not path.is_file():
        raise ConfigError(
            f"{path}: no privacy ledger here (a site writes local/{LEDGER_FILE} when it first "
            "trains with DP-SGD, sums secure statistics or refuses a global model)"
        )
    file = LedgerFile(path, job="ledger")
    if reset_model_check or forget_site is not None:
        if forget_site is not None:
            _forget(file, forget_site)
        if reset_model_check:
            _reset(file)
        return
    budget = _site_budget(path.parent)
    _show(file, accountant, budget)


def _forget(file: LedgerFile, site: str) -> None:
    from fedsec.engines.nvflare.site_config import SITE_CONFIG

    own = _own_name(file.path.parent / SITE_CONFIG)
    if own is not None and site.strip().casefold() == own.casefold():
        raise ConfigError(
            f"{file.path}: {site!r} is this site's own name ({SITE_CONFIG} beside the "
            "ledger): every statistics entry was summed with it, so forgetting it would unpin "
            "them all; name the site that left the consortium; nothing changed"
        )
    known = sorted({name for names in file.read().statistics.values() for name in names})
    gone = file.forget(site)
    if not gone:
        raise ConfigError(
            f"{file.path}: no statistics entry was summed with site {site!r} "
            f"(sites recorded: {', '.join(known) or 'none'}); nothing changed"
        )
    for data, names in gone.items():
        console.print(escape(f"forgot {_short(data)}: summed over {', '.join(names)}"))
    console.print(
        escape(
            f"{len(gone)} statistics entr{'y' if len(gone) == 1 else 'ies'} removed from "
            f"{file.path}: the next secure statistics sum of those data pins a new set of sites"
        )
    )


def _reset(file: LedgerFile) -> None:
    gone = file.reset_model_check()
    for refusal in gone:
        console.print(escape(f"forgot the refusal at {refusal['at']} in job {refusal['job']}"))
    console.print(
        escape(
            f"{len(gone)} model-check refusal(s) removed from {file.path}: the site takes part "
            "in jobs again from its next task"
        )
    )


def _own_name(config: Path) -> str | None:
    """The site's name in its config beside the ledger, if there is one."""
    from fedsec.engines.nvflare.site_config import load_site_config

    return load_site_config(config).name if config.is_file() else None


def _site_budget(local: Path) -> tuple[float, float | None]:
    """(delta, lifetime epsilon) of the site config beside the ledger, if there is one."""
    from fedsec.engines.nvflare.site_config import SITE_CONFIG, load_site_config

    config = local / SITE_CONFIG
    if not config.is_file():
        return DEFAULT_DELTA, None
    privacy = load_site_config(config).privacy
    return privacy.max_delta, privacy.lifetime_epsilon


def _show(file: LedgerFile, accountant: str, budget: tuple[float, float | None]) -> None:
    from fedsec.fl.privacy import dp

    ledger, (delta, lifetime) = file.read(), budget
    steps = [step for history in ledger.jobs.values() for step in history]
    console.print(escape(f"ledger: {file.path}"), highlight=False)
    epsilon = dp.composed_sample_dp_epsilon(steps, delta, accountant)
    line = (
        f"DP-SGD: {len(ledger.jobs)} job(s), {sum(s for _, _, s in steps)} step(s); "
        f"epsilon over all of them {epsilon:.4g} at delta {delta:g} ({accountant})"
    )
    if lifetime is not None:
        line += f"; lifetime_epsilon {lifetime:g}, {max(lifetime - epsilon, 0.0):.4g} left"
    console.print(escape(line), highlight=False)
    refusals = ledger.model_check
    line = f"model check: {len(refusals)} global model(s) refused"
    if refusals:
        line += f", last at {refusals[-1]['at']} (--reset-model-check once reviewed)"
    console.print(escape(line), highlight=False)
    for refusal in refusals:
        console.print(escape(f"  {refusal['at']} in job {refusal['job']}"), highlight=False)
    console.print(
        f"evaluations: {len(ledger.releases)} submission(s) whose final model this site "
        "evaluated (each once, whatever the job id)",
        highlight=False,
    )
    console.print(f"statistics: {len(ledger.statistics)} data set(s)", highlight=False)
    for data, names in ledger.statistics.items():
        console.print(escape(f"  {_short(data)} summed over {', '.join(names)}"))


def _short(data: str) -> str:
    return data if len(data) <= 16 else f"{data[:12]}…"
