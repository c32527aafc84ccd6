"""fedsec: federated threat detection for organizations that cannot share their security data."""

__version__ = "0.1.0"
