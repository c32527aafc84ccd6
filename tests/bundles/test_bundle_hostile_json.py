"""``bundle.json`` and ``bundle.sig`` are parsed before the signature is checked, so anyone may
have written them: JSON that ``json`` fails on outside its syntax errors (arrays nested
thousands deep: RecursionError; an integer of more than 4,300 digits: ValueError) is a
one-line BundleError naming the file, never a traceback."""

import shutil
from pathlib import Path

import pytest

from fedsec.bundles.bundle import load_bundle
from fedsec.bundles.signing import Trust
from fedsec.core.errors import BundleError

STORED = Path(__file__).parent / "data" / "v1"
HOSTILE = {
    "deep": ('{"format": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    "long integer": ('{"version": ' + "9" * 5_000 + "}", "an integer of more than 4,300 digits"),
}


@pytest.fixture
def bundle(tmp_path) -> Path:
    """A real classifier bundle (stored, signed by the test key)."""
    return Path(shutil.copytree(STORED / "classifier", tmp_path / "classifier"))


@pytest.mark.parametrize("name", ["bundle.json", "bundle.sig"])
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_json_is_a_one_line_error_naming_the_file(bundle, name, kind):
    (bundle / name).write_text(HOSTILE[kind][0])
    trust = Trust()
    trust.add_file(STORED / "signer.pub")
    with pytest.raises(BundleError) as raised:
        load_bundle(bundle, trust)
    assert str(raised.value) == f"{bundle / name}: corrupt JSON: {HOSTILE[kind][1]}"


@pytest.mark.parametrize("name", ["bundle.json", "bundle.sig"])
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"version": NaN}', "NaN is not a finite number"),
        ('{"a": 1, "a": 2}', "a key appears twice"),
    ],
)
def test_a_refused_number_or_key_names_the_file_once(bundle, name, text, problem):
    (bundle / name).write_text(text)
    trust = Trust()
    trust.add_file(STORED / "signer.pub")
    with pytest.raises(BundleError) as raised:
        load_bundle(bundle, trust)
    assert str(raised.value).startswith(f"{bundle / name}: {problem}")
    assert str(raised.value).count(str(bundle / name)) == 1


def test_a_file_given_as_the_bundle_is_named_as_not_a_folder(bundle):
    with pytest.raises(BundleError) as raised:
        load_bundle(bundle / "bundle.json")
    assert str(raised.value) == (
        f"{bundle / 'bundle.json'}: not a folder; a model bundle is the folder holding bundle.json"
    )
