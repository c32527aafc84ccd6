"""What a built autoencoder's network is, read from its layers (for tests that check the width
an arm or engine gave it)."""

from __future__ import annotations

from torch import nn

from fedsec.models.autoencoder import AutoencoderDetector


def code_width(detector: AutoencoderDetector) -> int:
    """The width of the network's code: the encoder's last layer's outputs."""
    return [m for m in detector.module().encoder if isinstance(m, nn.Linear)][-1].out_features
