"""Fixtures the command tests share with the deployment tests."""

from tests.engines.nvflare.conftest import consortium  # noqa: F401  (a site operator's data)
