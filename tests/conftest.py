"""Shared fixtures: the real public datasets in ../shared/datasets (or $FEDSEC_TEST_DATA)."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session", autouse=True)
def fedsec_home(tmp_path_factory) -> Iterator[Path]:
    """Every test signs and trusts bundles with keys in a temporary home, never the user's."""
    home = tmp_path_factory.mktemp("fedsec-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEDSEC_HOME", str(home))
        patch.delenv("FEDSEC_SIGNING_KEY", raising=False)
        patch.delenv("FEDSEC_TRUSTED_KEYS", raising=False)
        yield home
