"""The preprocessing's written form, checked once for bundles and model setups alike."""

import math

import pytest
from pydantic import ValidationError

from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.features.preprocess_schema import Preprocessing
from tests.features.test_preprocess import _unsw_orgs


@pytest.fixture(scope="module")
def written():
    """A preprocessor fitted on real UNSW-NB15 rows, guarded, as a bundle writes it."""
    pre = fit_preprocessor(local_stats(_unsw_orgs(1)[0]), 8, clip=2.0, recheck=1.5)
    return pre, pre.to_json()


def test_a_fitted_preprocessor_is_read_back_as_itself(written):
    pre, data = written
    built = Preprocessing.model_validate(data).build()
    assert built.to_json() == data and built.width == pre.width > 20


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda d: d.update(names=d["names"][::-1]), "feature names do not match"),
        (lambda d: d["categorical"].append(d["categorical"][0]), "must be distinct"),
        (lambda d: d.update(recheck=2.0), "recheck 2.0 must be below clip 2.0"),
        (lambda d: d.update(hash_buckets=1 << 17), "less than or equal to 65536"),
        (lambda d: d["numeric"][0].update(mean=math.nan), "finite number"),
        (lambda d: d.update(hash_buckets="8"), "valid integer"),
    ],
)
def test_what_is_not_the_transform_is_refused(written, change, why):
    _, data = written
    bad = {**data, "numeric": [dict(c) for c in data["numeric"]]}
    bad["categorical"] = list(data["categorical"])
    change(bad)
    with pytest.raises(ValidationError, match=why):
        Preprocessing.model_validate(bad)
