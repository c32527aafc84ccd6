"""Shared fixtures: the real public datasets in ../shared/datasets (or $FEDSEC_TEST_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FEDSEC_TEST_DATA", REPO.parent / "shared" / "datasets"))


def dataset(relative: str) -> Path:
    """Path of a shared dataset file or folder; skip the test, saying why, when it is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(
            f"shared dataset {relative} not found under {DATA} "
            "(set FEDSEC_TEST_DATA to the datasets folder)"
        )
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared datasets folder {DATA} not found (set FEDSEC_TEST_DATA)")
    return DATA
