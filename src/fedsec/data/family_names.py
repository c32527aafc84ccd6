"""What a class or family name may be, checked where names come in from files (a bundle's
``classes``, an alert's family): a word of letters, digits, ``_``, ``-`` and spaces, as every
name fedsec gives is (the canonical families of :mod:`fedsec.data.taxonomy`, ``anomaly``,
``anomalous session``). Anything else, control characters first, would reach the console, the
reports and STIX bundles as it is."""

from __future__ import annotations

import re

#: The pattern (pydantic's ``pattern=`` too) and its compiled form.
FAMILY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_ -]{0,63}$"
FAMILY_NAME = re.compile(FAMILY_PATTERN)
#: What the pattern allows, in words, for error messages.
FAMILY_RULE = "1 to 64 letters, digits, '_', '-' or spaces, from a letter or digit"


def is_family_name(name: str) -> bool:
    """Whether ``name`` may name a class or family."""
    return FAMILY_NAME.fullmatch(name) is not None
