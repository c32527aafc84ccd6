"""``fedsec detect`` scores only a bundle it trusts: it names the signer, refuses corrupt,
edited, re-signed by a stranger or unsigned bundles (unless ``--allow-unsigned``), and trusts a
colleague's key when told."""

import json
import shutil
from collections.abc import Callable

import pandas as pd

from fedsec.bundles.keys import load_signer
from fedsec.cli import app
from tests.bundles.forging import rewrite, stranger
from tests.cli.unsw_run import detect_copy, runner, unsw_slice, unwrapped


def test_detect_refuses_a_corrupt_bundle(unsw_run, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    for name in ("bundle.json", "bundle.sig"):
        (broken / name).write_text((unsw_run / "model" / name).read_text())
    (broken / "weights.safetensors").write_bytes(b"\x00" * 64)
    result = runner.invoke(
        app,
        [
            "detect",
            "--model",
            str(broken),
            "--input",
            str(unsw_slice(tmp_path, 20)),
            "--format",
            "unsw-nb15",
            "--out",
            str(tmp_path / "a.jsonl"),
        ],
    )
    assert result.exit_code == 2 and "sha256" in result.output


def test_detect_names_the_trusted_signer(unsw_run, tmp_path):
    result, out = detect_copy(unsw_run, tmp_path)
    assert result.exit_code == 0 and out.exists(), result.output
    text = unwrapped(result)
    assert "signed by key SHA256:" in text and "trusted: key trusted from your own key" in text


def test_detect_refuses_edited_weights_with_a_recomputed_sha256(unsw_run, tmp_path):
    signature = (unsw_run / "model" / "bundle.sig").read_text()
    shutil.copytree(unsw_run / "model", tmp_path / "model")
    rewrite(tmp_path / "model", tensors=lambda t: t.update({k: -v for k, v in t.items()}))
    (tmp_path / "model" / "bundle.sig").write_text(signature)
    result, out = detect_copy(unsw_run, tmp_path)
    assert result.exit_code == 2 and "changed after it was signed" in unwrapped(result)
    assert not out.exists()


def test_detect_refuses_swapped_class_names(unsw_run, tmp_path):
    shutil.copytree(unsw_run / "model", tmp_path / "model")
    path = tmp_path / "model" / "bundle.json"
    manifest = json.loads(path.read_text())
    classes = manifest["classes"]
    a, b = classes.index("exploit"), classes.index("recon")
    classes[a], classes[b] = classes[b], classes[a]
    path.write_text(json.dumps(manifest, indent=2))
    result, out = detect_copy(unsw_run, tmp_path)
    assert result.exit_code == 2 and "changed after it was signed" in unwrapped(result)
    assert not out.exists()


def _always_benign(manifest: dict) -> Callable[[dict], None]:
    """Weights that give every row to the benign class (the issue's forged model)."""
    benign = manifest["classes"].index("benign")

    def forge(tensors: dict) -> None:
        last = max(tensors, key=lambda name: int(name.split(".")[1]))
        layer = last.rsplit(".", 1)[0]
        tensors[f"{layer}.weight"][:] = 0.0
        tensors[f"{layer}.bias"][:] = 0.0
        tensors[f"{layer}.bias"][benign] = 50.0

    return forge


def test_detect_refuses_an_always_benign_forgery(unsw_run, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(unsw_run / "model", model)
    manifest = json.loads((model / "bundle.json").read_text())
    rewrite(model, tensors=_always_benign(manifest), signer=stranger())
    result, out = detect_copy(unsw_run, tmp_path)
    assert result.exit_code == 2 and not out.exists()
    assert "not one you trust" in unwrapped(result) and "--trust" in unwrapped(result)
    # what it would have done: silence on every attack of the input
    allowed, out = detect_copy(unsw_run, tmp_path, "--allow-unsigned")
    assert allowed.exit_code == 0, allowed.output
    assert out.read_text() == "" and "WARNING (--allow-unsigned)" in unwrapped(allowed)
    frame = pd.read_csv(unsw_slice(tmp_path))
    assert (frame["label"] == 1).sum() > 100  # the attacks it stayed silent on


def test_detect_refuses_an_unsigned_bundle_unless_allowed(unsw_run, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(unsw_run / "model", model)
    (model / "bundle.sig").unlink()
    result, out = detect_copy(unsw_run, tmp_path)
    assert result.exit_code == 2 and "not signed" in unwrapped(result) and not out.exists()
    assert "--allow-unsigned" in unwrapped(result)
    allowed, out = detect_copy(unsw_run, tmp_path, "--allow-unsigned")
    assert allowed.exit_code == 0 and "WARNING (--allow-unsigned): unsigned bundle" in unwrapped(
        allowed
    )
    assert 100 < len(out.read_text().splitlines()) < 400


def test_detect_trusts_a_colleagues_key_when_told(unsw_run, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(unsw_run / "model", model)
    colleague = tmp_path / "colleague.key"
    generated = runner.invoke(app, ["keys", "generate", "--out", str(colleague)])
    assert generated.exit_code == 0, generated.output
    rewrite(model, signer=load_signer(colleague))
    refused, _ = detect_copy(unsw_run, tmp_path)
    assert refused.exit_code == 2 and "not one you trust" in unwrapped(refused)
    trusted, out = detect_copy(unsw_run, tmp_path, "--trust", f"{colleague}.pub")
    assert trusted.exit_code == 0, trusted.output
    assert "trusted: key trusted from" in unwrapped(trusted) and out.exists()
