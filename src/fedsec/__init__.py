"""fedsec: federated threat detection for organizations that cannot share their security data."""

from fedsec.core.numerics import pin_at_import

pin_at_import()  # before numpy or torch loads: the same numbers on every AVX2 CPU

__version__ = "0.1.0"
