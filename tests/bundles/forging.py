"""Bundles to save and to forge: a tiny classifier, and a forger's rewrite of a bundle's
manifest and tensors signed again with a key of its choice."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from cryptography.hazmat.primitives.asymmetric import ed25519
from safetensors.numpy import load_file, save

from fedsec.bundles.keys import default_signer
from fedsec.bundles.signing import KeySigner, Signer, signature_block
from fedsec.data.flows import FeatureFrame
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp import build_mlp
from fedsec.models.mlp_spec import MLPSpec
from fedsec.training.params import get_params


def rewrite(
    directory: Path,
    edit: Callable[[dict], None] = lambda m: None,
    tensors: Callable[[dict], None] | None = None,
    signer: Signer | None = None,
) -> None:
    """Edit a bundle's manifest (and tensors), recompute the weights' sha256 and sign it again
    with ``signer`` (default: the user's own, trusted key), as a forger with that key would."""
    weights_path, manifest_path = directory / "weights.safetensors", directory / "bundle.json"
    if tensors is not None:
        arrays = load_file(weights_path)
        tensors(arrays)
        weights_path.write_bytes(save(arrays))
    manifest = json.loads(manifest_path.read_text())
    edit(manifest)
    manifest["weights_sha256"] = hashlib.sha256(weights_path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    block = signature_block(manifest, manifest["weights_sha256"], signer or default_signer())
    (directory / "bundle.sig").write_text(json.dumps(block))


def stranger() -> KeySigner:
    """A signer whose key no one trusts."""
    return KeySigner(ed25519.Ed25519PrivateKey.generate())


def small_classifier() -> tuple[FamilyClassifier, pd.DataFrame]:
    """A tiny untrained classifier (3 families, per-organization thresholds) and its frame."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"bytes": rng.exponential(100, 300), "proto": ["tcp", "udp"] * 150})
    pre = fit_preprocessor(local_stats(FeatureFrame(frame, ("bytes",), ("proto",))), 4)
    spec = MLPSpec(pre.width, 3, (8,), 0.0)
    net = build_mlp(spec, torch.Generator().manual_seed(3))
    model = FamilyClassifier(spec, pre, ["benign", "dos", "recon"], "native", decision="fpr")
    model.set_weights(get_params(net)).thresholds_ = {"org1": 0.4, "*": 0.5}
    return model, frame
