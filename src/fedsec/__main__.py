"""``python -m fedsec`` runs the command-line interface."""

from fedsec.cli import app

app()
