"""A bundle's class names are names, not free text: one holding control characters (a
terminal title, a cleared screen, a forged ``error:`` line) is refused when the bundle is
loaded, before it reaches the summary table, the alerts or a report."""

from __future__ import annotations

import pytest

from fedsec.bundles.bundle import load_bundle, save_bundle
from fedsec.core.errors import BundleError
from fedsec.data.family_names import is_family_name
from fedsec.data.taxonomy import FAMILIES, KNOWN_TABLES
from fedsec.detect.anomaly_alerts import ANOMALY
from fedsec.detect.logs import LABEL
from tests.bundles.forging import rewrite, small_classifier

FORGED = "dos\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\r\nerror: fake"


@pytest.mark.parametrize(
    "name", [FORGED, "dos\n", "[bold]dos", "../../etc/x", "", " dos", "d" * 65, "do\u202es"]
)
def test_a_class_name_that_is_not_a_name_is_refused_even_when_signed(tmp_path, name):
    model, _ = small_classifier()
    save_bundle(tmp_path / "b", model, {})
    rewrite(tmp_path / "b", lambda m: m["classes"].__setitem__(1, name))
    with pytest.raises(BundleError, match=r"classes\.1"):
        load_bundle(tmp_path / "b")


def test_every_family_fedsec_gives_is_a_name():
    """The canonical families, every family a built-in table maps a label to, and the
    families of anomaly and log alerts."""
    given = {*FAMILIES, *(f for table in KNOWN_TABLES for f in table.values()), ANOMALY, LABEL}
    assert [name for name in sorted(given) if not is_family_name(name)] == []
