"""A scorer given an architecture it has no layout for refuses it by name, instead of failing
on an attribute the autoencoder's spec happens to have."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from fedsec.core.errors import BundleError
from fedsec.models.one_class import OneClassScorer


@dataclass(frozen=True)
class VariationalSpec:
    """A one-class architecture scoring does not know (no ``widths``)."""

    kind: ClassVar[str] = "vae"

    inputs: int = 3

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"net.0.weight": (2, self.inputs)}


def test_an_unknown_architecture_is_refused_by_name():
    scorer = OneClassScorer(VariationalSpec(), preprocessor=None, view="native")
    scorer.params_ = [np.zeros((2, 3), dtype=np.float32)]
    with pytest.raises(BundleError, match="VariationalSpec") as refused:
        scorer.raw_errors(np.zeros((4, 3), dtype=np.float32))
    assert "autoencoder" in str(refused.value)
    assert "Deep SVDD" in str(refused.value)
