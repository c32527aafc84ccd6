"""Refusals of a model's operating point (threshold, organization), worded in the options of
the command that asked: ``fedsec detect`` names ``--threshold`` and ``--org``, ``fedsec hunt``
its baseline's ``--baseline-threshold`` and ``--baseline-org``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fedsec.core.errors import BundleError, ConfigError, FedsecError


@dataclass(frozen=True)
class PointOptions:
    """A command's names for the options that choose a model's operating point;
    ``organization`` names the scoring organization in the alerts (None: the command has none)."""

    threshold: str = "--threshold"
    org: str = "--org"
    organization: str | None = "--organization"


DETECT_OPTIONS = PointOptions()

Wording = Callable[[PointOptions], str]


class PointRefused(FedsecError):
    """A refusal whose message names operating-point options: worded for ``fedsec detect``
    by default, and again for another command by :meth:`worded_for`."""

    def __init__(self, wording: Wording) -> None:
        self.wording = wording
        super().__init__(wording(DETECT_OPTIONS))

    def worded_for(self, options: PointOptions) -> Exception:
        """The same refusal, of the same type, in ``options``' names."""
        return type(self)(lambda _: self.wording(options))


class PointBundleError(PointRefused, BundleError):
    """The bundle holds no operating point for what was asked."""


class PointConfigError(PointRefused, ConfigError):
    """The operating point asked for is not one a model can take."""
