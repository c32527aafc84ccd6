"""Options and command groups shared by the ``fedsec`` sub-commands."""

from __future__ import annotations

import sys
from datetime import tzinfo
from pathlib import Path
from typing import Annotated, Literal

import typer

from fedsec.cli.common import UNWRAPPED
from fedsec.core import seeding
from fedsec.data.logs import LOG_FORMATS
from fedsec.data.readers import FORMATS

PIPED = sys.stdout is None or not sys.stdout.isatty()
# On a terminal: rich help panels at its width. Piped or logged: plain help, never wrapped.
HELP: dict = {"help_option_names": ["-h", "--help"]} | (
    {"terminal_width": UNWRAPPED, "max_content_width": UNWRAPPED} if PIPED else {}
)
MARKUP: Literal["rich"] | None = None if PIPED else "rich"
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder holding the datasets (default: $FEDSEC_DATA)."),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario field: --set rounds=5 (repeatable)."),
]


def check_seed(seed: int | None) -> int | None:
    """``--seed``, if given, checked: out of range, a usage error naming the value."""
    try:
        return None if seed is None else seeding.check_seed(seed)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


#: ``--seed``: a run seed (0 to 2**32 - 1); :func:`seed_overrides` puts it after ``--set seed=``.
Seed = Annotated[
    int | None,
    typer.Option(
        callback=check_seed,
        help="Seed, 0 to 2**32-1 (overrides the configuration's, and a --set seed=).",
    ),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an earlier fedsec output at --out (never a folder fedsec did not write).",
    ),
]
RunOut = Annotated[
    Path | None,
    typer.Option(
        help="Run folder. Default: runs/SCENARIO-seedN, with a suffix naming the protections "
        "on (-secagg, -he, -dp4 ...) and -2, -3 ... when taken; runs/latest points at the newest."
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        help="Runs trained at once: this process and a local Ray runtime of N-1 CPUs (default "
        "1: one after another, no Ray). With --ray-address: the most in flight on the cluster."
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        help="Run on this existing Ray cluster (host:port, ray://host:port or auto); every "
        "node needs fedsec installed."
    ),
]
#: Every format ``detect`` reads, from the readers' own registries (a new reader appears here).
DETECT_FORMATS = f"flows: {', '.join(FORMATS)}; logs: {', '.join(LOG_FORMATS)}"
#: The flow formats alone: what ``hunt`` reads (it compares flow models row by row).
FLOW_FORMATS = ", ".join(FORMATS)

DEFAULT_POC = Path(".fedsec/poc")
federation_app = typer.Typer(
    rich_markup_mode=MARKUP,
    help="Provision a federation, or run a loopback one on this machine.",
    no_args_is_help=True,
    context_settings=HELP,
)
job_app = typer.Typer(
    rich_markup_mode=MARKUP,
    help="Run a scenario as a job on a federation.",
    no_args_is_help=True,
    context_settings=HELP,
)
keys_app = typer.Typer(
    rich_markup_mode=MARKUP,
    help="Bundle signing keys: generate yours, trust others', sign old bundles.",
    no_args_is_help=True,
    context_settings=HELP,
)


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2]; a clear error (exit 2) otherwise."""
    from fedsec.core.errors import ConfigError

    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--seeds: comma-separated integers, got {text!r}") from None
    if not seeds:
        raise ConfigError(f"--seeds: no seed in {text!r}")
    return seeding.check_seeds(seeds)


def seed_overrides(set_: list[str] | None, seed: int | None) -> list[str]:
    """The ``--set`` overrides, then ``seed=`` when ``--seed`` is given (overrides apply in
    order: ``--seed`` wins over a ``--set seed=``, as its help says)."""
    return [*(set_ or []), *([f"seed={seed}"] if seed is not None else [])]


def parse_timezone(timezone: str) -> tzinfo:
    """The zone ``--timezone`` names (IANA name or UTC), checked before anything is read."""
    from fedsec.detect.ecs_values import zone

    try:
        return zone(timezone)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--timezone") from error
