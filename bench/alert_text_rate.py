"""How much faster flow alerts are written from their columns, their lines joined by Arrow, than
by the column-wise code before it (each line assembled in Python) and record by record, in one
process on the same chunks (CPU seconds, alternating, so the machine's load moves all alike).

    python bench/detect_rate.py --rows 1000000 --work /tmp/detect_rate   # builds the files
    python bench/alert_text_rate.py --work /tmp/detect_rate --chunks 4

Scores the first ``--chunks`` chunks of ``--work``'s flow CSV with its bundle (untimed), then
writes each chunk's alerts in each format the three ways (``--rounds`` times), checks the bytes
are the same, and prints the CPU microseconds per alert of each way and their ratios; and the
network's input gradient for the reasons, by autograd and by its backward kernels without the
graph.

    python bench/alert_text_rate.py --endpoints --rows 1000000

``--endpoints`` instead times the check of the flagged rows' addresses and ports (a bad one
refuses the alert) on ``--rows`` real CIC-IDS2017 flows (resampled, seed 0), 15% flagged: each
distinct value checked once against each value one by one (the check before), the same refusal
asserted for a bad value in the last flagged row.
"""

from __future__ import annotations

import argparse
import time
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from tests.detect.test_reasons import autograd_contributions  # the reference, kept in the tests

from alert_columns import refuse_bad_endpoints_by_value
from columnwise_text import ecs_lines, eve_lines, flat_lines  # bench/ is on the path
from fedsec.bundles.fields import CLASSIFIER_KIND
from fedsec.bundles.signing import Trust
from fedsec.core.errors import InputError
from fedsec.data.readers import read_flows
from fedsec.data.readers.chunks import read_chunks
from fedsec.detect.alert_endpoints import refuse_bad_endpoints
from fedsec.detect.alert_options import AlertOptions, alert_format
from fedsec.detect.alerts import flow_scorer
from fedsec.detect.reasons import contributions


def scored(work: Path, rows: int, chunks: int, form: str) -> tuple:
    """The alert format ``form``, the scorer, and the chunks' alerts (column-wise)."""
    alerts = alert_format(work / "model", CLASSIFIER_KIND, None, AlertOptions(form, observer="b"))
    path = work / f"flows-{rows}.csv"
    score = flow_scorer(
        work / "model", [path], "flows", None, None, Trust(allow_unsigned=True), alerts=alerts
    )
    return (
        alerts,
        score,
        [score.records(t, 0)[0] for t in islice(read_chunks("flows", [path]), chunks)],
    )


#: The column-wise text before Arrow joined the lines, by format (flat lines name no source).
BEFORE = {
    "ecs": ecs_lines,
    "eve": eve_lines,
    "fedsec": lambda alerts, _source: flat_lines(alerts),
}


def cpu(run) -> tuple[float, object]:
    started = time.process_time()
    out = run()
    return time.process_time() - started, out


def refusal(check, table, rows) -> str | None:
    try:
        check(table, rows)
    except InputError as error:
        return str(error)
    return None


def endpoints(rows: int, data: Path) -> None:
    """The endpoint check of ``rows`` CIC-IDS2017 flows, 15% flagged, the two ways."""
    files = sorted(data.glob("cic-ids2017/improved_rnd5000/*.csv.gz"))
    flows = read_flows("cicids2017", files)
    rng = np.random.default_rng(0)
    table = flows.take(rng.integers(0, len(flows), rows))
    flagged = np.sort(rng.choice(rows, rows * 15 // 100, replace=False))
    print(f"{len(flows):,} CIC-IDS2017 flows resampled to {rows:,}, {len(flagged):,} flagged")
    ways = {"distinct": refuse_bad_endpoints, "one by one": refuse_bad_endpoints_by_value}
    spent = {
        way: min(cpu(lambda c=c: refusal(c, table, flagged))[0] for _ in range(3))
        for way, c in ways.items()
    }
    print(
        ", ".join(f"{way} {took:.3f} s CPU" for way, took in spent.items())
        + f" ({spent['one by one'] / spent['distinct']:.1f}x)"
    )
    table.context.loc[int(flagged[-1]), "dst_ip"] = "999.1.1.300"
    said = {refusal(c, table, flagged) for c in ways.values()}
    assert len(said) == 1 and None not in said, said
    print(f"the same refusal: {said.pop()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fedsec-detect-rate"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1, help="times each chunk is written")
    parser.add_argument("--endpoints", action="store_true", help="time the endpoint check")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/datasets"))
    args = parser.parse_args()
    if args.endpoints:
        endpoints(args.rows, args.data)
        return
    torch.set_num_threads(1)
    for form in ("ecs", "eve", "fedsec"):
        alerts, score, parts = scored(args.work, args.rows, args.chunks, form)
        before = BEFORE[form]
        ways = {
            "arrow": lambda p, a=alerts: a.lines(p),
            "column-wise before": lambda p, a=alerts, b=before: b(p, a.source),
            "record by record": lambda p, a=alerts: a.lines(p.records()),
        }
        spent = dict.fromkeys(ways, 0.0)
        names = list(ways)
        for turn, part in enumerate([p for _ in range(args.rounds) for p in parts]):
            texts = set()
            for way in names[turn % 3 :] + names[: turn % 3]:  # each way first in turn
                took, text = cpu(lambda w=ways[way], p=part: w(p))
                spent[way] += took
                texts.add(text)
            assert len(texts) == 1, f"{form}: the ways' lines differ"
        count = sum(len(p) for p in parts) * args.rounds
        each = {way: took / count * 1e6 for way, took in spent.items()}
        arrow, columns, records = each.values()
        print(
            f"{form:>6}: {count:,} alerts written, us/alert: arrow {arrow:5.1f}, column-wise "
            f"before {columns:5.1f} ({columns / arrow:4.2f}x), record by record "
            f"{records:6.1f} ({records / arrow:4.1f}x)",
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
