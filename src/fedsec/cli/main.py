"""The ``fedsec`` command: one sub-command per user job, registered here in help order."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from fedsec import __version__
from fedsec.cli import deploy, jobs, keys, ledger, site_check  # noqa: F401  (importing registers their commands)
from fedsec.cli.attack_matrix import attack_matrix
from fedsec.cli.common import console, quiet_libraries
from fedsec.cli.detect import detect
from fedsec.cli.hunt import hunt
from fedsec.cli.incidents import incidents
from fedsec.cli.inspect import inspect
from fedsec.cli.options import HELP, MARKUP, federation_app, job_app, keys_app
from fedsec.cli.simulate import privacy_curve_command, scenarios, simulate
from fedsec.cli.synthetic import demo, generate

app = typer.Typer(
    rich_markup_mode=MARKUP,
    help="fedsec: federated threat detection for organizations that cannot share their data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=HELP,
)


def stop_like_ctrl_c(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (a scheduler, ``kill``, a container stopping) ends a command like Ctrl-C: the
    finished steps are kept, the run folder is marked incomplete, nothing is half-written."""
    raise KeyboardInterrupt


def show_version(value: bool) -> None:
    if value:
        console.print(f"fedsec {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """fedsec: federated threat detection for organizations that cannot share their data."""
    quiet_libraries()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_like_ctrl_c)


app.command()(scenarios)
app.command()(simulate)
app.command()(detect)
app.command()(incidents)
app.command()(hunt)
app.command()(inspect)
app.command("privacy-curve")(privacy_curve_command)
app.command("attack-matrix")(attack_matrix)
app.command()(generate)
app.command()(demo)

# Deployment on NVIDIA FLARE (``fedsec federation ...``, ``fedsec job ...``) and signing keys:
# the deploy, jobs and keys modules register their commands on these groups.
app.add_typer(federation_app, name="federation")
app.add_typer(job_app, name="job")
app.add_typer(keys_app, name="keys")
