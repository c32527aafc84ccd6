"""Errors fedsec reports to users: each names what is wrong and where.

Everything a user can cause derives from :class:`FedsecError`, which the CLI prints as one line
with exit status 2: these four, and the domain errors defined beside their code
(``SecAggError``, ``HeError``, ``EncodingOverflowError``, ``PlanRefused``,
``JobFailed``, ``DeploymentError``, ``PocError``). Any other exception is a bug and keeps its
traceback.
"""

from __future__ import annotations

from pathlib import Path


class FedsecError(Exception):
    """Base of every error the CLI turns into a clear message and a non-zero exit."""


class InputError(FedsecError, ValueError):
    """A data file cannot be used; names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self) -> tuple[type, tuple[Path, str]]:
        """Rebuilt from its path and problem (an error met in a scoring process is raised by
        the process that started it: :mod:`fedsec.detect.row_groups`)."""
        return type(self), (self.path, self.problem)


class EmptyInput(InputError):
    """A data file holds no rows (empty, or a header only): among several inputs (a day of no
    traffic in a rotated series), one that readers of many files may skip, saying so."""


class HeaderOnly(EmptyInput):
    """A data file holds a header and no rows (a quiet hour): ``names``, its columns, let a
    reader check them as it would a file with rows."""

    def __init__(self, path: Path | str, problem: str, names: list[str] | None = None) -> None:
        super().__init__(path, problem)
        self.names = list(names or [])

    def __reduce__(self) -> tuple[type, tuple[Path, str, list[str]]]:
        return type(self), (self.path, self.problem, self.names)


class ConfigError(FedsecError, ValueError):
    """A scenario or setting is invalid."""


class OutputError(ConfigError):
    """An output folder or file cannot be written without harming what is there, or cannot be
    written at all (a full disk, a write the system refuses)."""


class BundleError(FedsecError, ValueError):
    """A model bundle is missing, corrupt or does not match its input."""


def parse_problem(error: ValueError | RecursionError) -> str:
    """What a JSON or TOML parser's non-syntax failure on hostile text means, in one line:
    arrays nested thousands deep (RecursionError), or an integer of more digits than Python
    converts (its ValueError suggests changing an interpreter setting)."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if "integer string conversion" in str(error):
        return "an integer of more than 4,300 digits"
    return str(error).splitlines()[0] if str(error) else type(error).__name__
