"""The ``fedsec`` command: one sub-command per user job."""

from fedsec.cli.main import app

__all__ = ["app"]
