"""fedsec's networks' inference on their weights as numpy arrays, without torch: the
attack-family classifier's probabilities and the input gradient behind an alert's reasons, the
autoencoder's reconstruction and Deep SVDD's embedding (:mod:`fedsec.models.one_class`).

Scoring is the whole of what ``fedsec detect`` asks of a network, and importing torch costs
more CPU than scoring a million flows (bench/detect_rate.py), so every scorer of these
networks (evaluation, calibration, the error scale, detection) runs this forward: one forward,
the same numbers everywhere. Training stays in torch. Dropout is the identity at inference.

The products are computed in float64 and the outputs rounded to float32, the network's type. In
float32, OpenBLAS's result for a row depends on where the row falls in the matrix (its kernels
treat the lanes of a block differently), so the same flow would score differently with another
chunk size or another --follow batch. float64's differences are some 2^-29 of a float32 step,
so the rounded outputs are the same wherever the row falls, but for a chance of that order per
value of landing on a rounding boundary (tests/models/test_mlp_arrays.py).
That costs about 0.2 CPU s per million rows over torch's float32 forward
(bench/detect_rate.py), against the 1.4 CPU s torch's import took before every run. ``ROWS``
rows at a time, so that memory stays bounded by the batch.
"""

from __future__ import annotations

import numpy as np

#: Rows per matrix product: a block's layers stay in the CPU's cache (2,048 rows were the
#: fastest of 512 to 65,536 for a 47-64-32-11 network, 0.63 CPU s per million rows).
ROWS = 1 << 11


#: A layer: its weight and bias (None: bias-free) in float64, then its activation: None for
#: none, else the slope of its (leaky) ReLU below zero (0.0: a ReLU).
Layer = tuple[np.ndarray, np.ndarray | None, float | None]


def layers(params: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, bias) per linear layer in float64, from the parameters in the network's order."""
    return [
        (np.asarray(params[i], np.float64), np.asarray(params[i + 1], np.float64))
        for i in range(0, len(params), 2)
    ]


def mlp_layers(params: list[np.ndarray]) -> list[Layer]:
    """The classifier's layers: ReLU after each but the last."""
    linear = layers(params)
    return [(w, b, 0.0 if i < len(linear) - 1 else None) for i, (w, b) in enumerate(linear)]


def outputs(network: list[Layer], x: np.ndarray) -> np.ndarray:
    """The network's outputs per row of ``x``, rounded to float32."""
    out = np.empty((len(x), network[-1][0].shape[0]), dtype=np.float32)
    for start in range(0, len(x), ROWS):
        hidden = np.asarray(x[start : start + ROWS], dtype=np.float64)
        for weight, bias, slope in network:
            hidden = hidden @ weight.T
            if bias is not None:
                hidden += bias
            if slope == 0.0:
                np.maximum(hidden, 0.0, out=hidden)
            elif slope is not None:
                hidden = np.where(hidden > 0, hidden, slope * hidden)
        out[start : start + ROWS] = hidden
    return out


def logits(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The classifier's outputs per row of ``x``, rounded to float32."""
    return outputs(mlp_layers(params), x)


def softmax(values: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a 2-D array in its type, shifted by each row's largest value and
    written over it, ``ROWS`` rows at a time while they are in the CPU's cache; each row's
    largest value is taken column by column (a reduction along a row of ten or so values costs
    numpy more than the exponentials: 0.10 against 0.05 CPU s per million rows of 11). The
    bits of ``exp(v - max) / sum`` (tests/models/test_mlp_arrays.py)."""
    for start in range(0, len(values), ROWS):
        block = values[start : start + ROWS]
        largest = block[:, 0].copy()
        for column in range(1, block.shape[1]):
            np.maximum(largest, block[:, column], out=largest)
        np.subtract(block, largest[:, None], out=block)
        np.exp(block, out=block)
        np.divide(block, block.sum(axis=1, keepdims=True), out=block)
    return values


def probabilities(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Family probabilities per row of ``x`` (float32, from the float32 logits)."""
    return softmax(logits(params, x))


def input_gradient(
    params: list[np.ndarray], x: np.ndarray, targets: np.ndarray, against: int | None = None
) -> np.ndarray:
    """Per row of ``x``, the gradient with respect to its input (float64) of its ``targets``
    class's log-odds against class ``against`` (logit minus logit: ``onehot(target) -
    onehot(against)`` at the output, which does not vanish as the class's probability nears 1),
    or with ``against`` None of its log-probability (log-softmax's backward: ``onehot - p``);
    then each layer's backward in turn (a ReLU's zero where its output is, a linear layer's
    ``grad @ weight``)."""
    linear = layers(params)
    hidden, outputs = np.asarray(x, dtype=np.float64), []
    for weight, bias in linear[:-1]:
        hidden = np.maximum(hidden @ weight.T + bias, 0.0)
        outputs.append(hidden)
    weight, bias = linear[-1]
    grad = output_gradient(hidden @ weight.T + bias, np.asarray(targets, np.int64), against)
    grad = grad @ weight
    for (weight, _), output in zip(reversed(linear[:-1]), reversed(outputs), strict=True):
        grad = np.where(output > 0, grad, 0.0) @ weight
    return grad


def output_gradient(logit: np.ndarray, targets: np.ndarray, against: int | None) -> np.ndarray:
    """The gradient at the output layer: of the log-odds of ``targets`` against ``against``,
    else (None) of the log-probability of ``targets``."""
    if against is None:
        grad = -softmax(logit)
    else:
        grad = np.zeros_like(logit)
        grad[:, against] = -1.0
    grad[np.arange(len(grad)), targets] += 1.0
    return grad
