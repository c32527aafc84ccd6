"""Organization names: the one rule every place that takes one applies.

An organization of a scenario or a simulation becomes, once deployed, an NVFlare site: its name
is the site's name in ``project.yml``, its certificate's common name, its startup kit's folder,
and its folder in a run (``local/<org>``). So a name is what all of those accept:

* letters, digits, ``_`` and ``-`` only (NVFlare's site names; no ``/``, space or ``.``);
* starting with a letter or a digit (no hidden ``.name``, no ``-name`` read as an option);
* at most 64 characters (an X.509 common name's limit).

Two names that differ only in case are the same organization: their folders are one folder on
a case-insensitive file system (macOS, Windows).

NVFlare's *org* field of a participant is stricter (no ``-``): :func:`nvflare_org` maps a name
to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator

MAX_LENGTH = 64
RULE = (
    f"1-{MAX_LENGTH} letters, digits, '_' or '-', starting with a letter or a digit "
    "(an NVFlare site name, safe as a folder name)"
)
_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{MAX_LENGTH - 1}}}")


def is_valid(name: object) -> bool:
    return isinstance(name, str) and _PATTERN.fullmatch(name) is not None


def check(name: str) -> str:
    """``name`` when it follows the rule; else a ``ValueError`` naming it and the rule."""
    if not is_valid(name):
        raise ValueError(f"organization name {name!r} is not allowed: it must be {RULE}")
    return name


OrgName = Annotated[str, AfterValidator(check)]
"""A pydantic field type: an organization name that follows the rule."""


def check_distinct(names: Iterable[str], what: str) -> None:
    """Each name once, ignoring case (a ``ValueError`` naming the repeated ones)."""
    seen: dict[str, str] = {}
    repeated = []
    for name in names:
        if name.casefold() in seen:
            repeated.append(name)
        seen.setdefault(name.casefold(), name)
    if repeated:
        raise ValueError(
            f"{what}: {sorted(repeated)} listed twice (organization names are compared "
            "ignoring case: they name folders)"
        )


def nvflare_org(name: str) -> str:
    """The NVFlare *org* of the site ``name``: NVFlare allows only letters, digits and ``_``
    there, so each ``-`` of a name that follows the rule becomes ``_``."""
    return name.replace("-", "_")
