"""Options and command groups shared by the ``fedsec`` sub-commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fedsec.data.logs import LOG_FORMATS
from fedsec.data.readers import FORMATS

HELP = {"help_option_names": ["-h", "--help"]}
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder holding the datasets (default: $FEDSEC_DATA)."),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario field: --set rounds=5 (repeatable)."),
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
#: Every format ``detect`` reads, from the readers' own registries (a new reader appears here).
DETECT_FORMATS = f"flows: {', '.join(FORMATS)}; logs: {', '.join(LOG_FORMATS)}"

DEFAULT_POC = Path(".fedsec/poc")
federation_app = typer.Typer(
    help="Provision a federation, or run a loopback one on this machine.",
    no_args_is_help=True,
    context_settings=HELP,
)
job_app = typer.Typer(
    help="Run a scenario as a job on a federation.", no_args_is_help=True, context_settings=HELP
)
keys_app = typer.Typer(
    help="Bundle signing keys: generate yours, trust others', sign old bundles.",
    no_args_is_help=True,
)
