"""``fedsec federation check-site-config``: read a site config as the site will, and say what
it leaves to the coordinator's plan or to public values.

A site reads its ``local/fedsec_site.toml`` only when a job's first task arrives; an operator
who edits it by hand checks it here first (an invalid file: its name and each problem, exit 2).
Registered on the main app by :mod:`fedsec.cli.main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from fedsec.cli.common import clean_errors, console
from fedsec.cli.options import federation_app


@federation_app.command("check-site-config")
@clean_errors
def check_site_config_command(
    path: Annotated[
        Path, typer.Argument(help="The site config (or the site kit's local/ folder).")
    ],
) -> None:
    """Validate a site config as the site reads it for a job, and print each weak setting
    (what it leaves to the coordinator's plan or to public values)."""
    from fedsec.engines.nvflare.site_config import SITE_CONFIG, load_site_config
    from fedsec.engines.nvflare.site_notes import weak_settings

    file = path / SITE_CONFIG if path.is_dir() else path
    config = load_site_config(file)
    notes = weak_settings(config)
    console.print(escape(f"{file}: a valid site config for {config.name}"), highlight=False)
    for note in notes:
        console.print(escape(f"note: {note}"), highlight=False)
    if not notes:
        console.print("nothing it leaves to the coordinator's plan or to public values")
