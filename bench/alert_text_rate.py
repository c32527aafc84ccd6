"""How much faster flow alerts are written from their columns than record by record, in one
process on the same chunks (CPU seconds, alternating, so the machine's load moves both alike).

    python bench/detect_rate.py --rows 1000000 --work /tmp/detect_rate   # builds the files
    python bench/alert_text_rate.py --work /tmp/detect_rate --chunks 4

Scores the first ``--chunks`` chunks of ``--work``'s flow CSV with its bundle (untimed), then
writes each chunk's alerts in each format both ways, checks the bytes are the same, and prints
the CPU microseconds per alert of each way and their ratio; and the network's input gradient
for the reasons, by autograd and by its backward kernels without the graph.
"""

from __future__ import annotations

import argparse
import time
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from fedsec.bundles.bundle import CLASSIFIER_KIND
from fedsec.bundles.signing import Trust
from fedsec.data.readers.chunks import read_chunks
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.dispatch import AlertOptions, alert_format
from fedsec.detect.reasons import autograd_contributions, contributions


def scored(work: Path, rows: int, chunks: int, form: str) -> tuple:
    """The alert format ``form``, the scorer, and the chunks' alerts (column-wise)."""
    alerts = alert_format(work / "model", CLASSIFIER_KIND, None, AlertOptions(form, observer="b"))
    path = work / f"flows-{rows}.csv"
    score = flow_scorer(
        work / "model", [path], "flows", None, None, Trust(allow_unsigned=True), alerts=alerts
    )
    return alerts, score, [score.records(t) for t in islice(read_chunks("flows", [path]), chunks)]


def cpu(run) -> tuple[float, object]:
    started = time.process_time()
    out = run()
    return time.process_time() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fedsec-detect-rate"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for form in ("ecs", "eve", "fedsec"):
        alerts, score, parts = scored(args.work, args.rows, args.chunks, form)
        fast = slow = 0.0
        for part in parts:
            took, new = cpu(lambda p=part, a=alerts: a.lines(p))
            fast += took
            took, old = cpu(lambda p=part, a=alerts: a.lines(p.records()))
            slow += took
            assert new == old, f"{form}: the column-wise lines differ"
        count = sum(len(p) for p in parts)
        print(
            f"{form:>6}: {count:,} alerts, column-wise {fast / count * 1e6:6.1f} us/alert, "
            f"record by record {slow / count * 1e6:6.1f} us/alert: {slow / fast:4.1f}x",
            flush=True,
        )
    model = score.model
    table = next(islice(read_chunks("flows", [args.work / f"flows-{args.rows}.csv"]), 1))
    x = model.encode(table.features(model.view).frame)
    targets = np.argmax(model.proba_from_matrix(x), axis=1)
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    network = model.module().eval()
    graph, expected = cpu(lambda: autograd_contributions(network, inputs.clone(), targets))
    kernels, found = cpu(lambda: contributions(model, x, targets))
    assert np.array_equal(found, expected)
    print(
        f"input gradient of {len(x):,} rows: autograd {graph:.3f} s, backward kernels "
        f"{kernels:.3f} s CPU (the same numbers)",
        flush=True,
    )


if __name__ == "__main__":
    main()
