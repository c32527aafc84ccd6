"""How fast ``fedsec detect`` scores flows, stage by stage, against the bare parse and the bare
forward on the same file.

    python bench/detect_rate.py --rows 1000000 --work /tmp/detect_rate

Builds (once, in ``--work``) a canonical flow file of ``--rows`` rows by resampling a simulated
consortium's flows (seed 0), as CSV, Parquet and Arrow IPC, and a classifier bundle trained on
the sample. Then prints the start-up (CPU seconds and peak memory of the imports ``fedsec
detect`` starts with, in a fresh process); rows/s of: the bare pyarrow parse (CSV, Parquet;
three times, the fastest kept, and the CSV in a fresh process, imports included),
fedsec's chunked reader against the reader before it (each batch to pandas, then
``flows.from_frame``) on each container, the preprocessing, the bare forward (preprocessed
matrix in, probabilities out, at each thread count; torch's float32 forward of the same
network beside it, the forward detection ran before), scoring the CSV with the next chunk read
in a thread and without, and with two chunks scored at once (flat and ECS alerts, one after
the other in this process); the CPU
seconds of each stage of detection (the flow scorer's own steps, flat and ECS alerts), and
``fedsec detect`` end to end (CSV and Parquet with ECS alerts, CSV with flat ones), each its
own process timed from before its imports, wall and CPU seconds and peak memory (max RSS)
beside it; then each end-to-end rate as a multiple of the bare parse's and the bare forward's,
wall and CPU, and the load average before and after (the machine may be shared).
``--sizes`` repeats the end-to-end CSV run on files of other sizes, to show the memory stays
flat as files grow, and the marginal rate between the smallest and the largest file (the
start-up, imports and bundle loading excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import torch
from threadpoolctl import threadpool_limits

from fedsec.bundles.bundle import load_bundle, save_bundle
from fedsec.bundles.fields import CLASSIFIER_KIND
from fedsec.bundles.signing import Trust
from fedsec.core import seeding
from fedsec.data.readers import chunks as chunked
from fedsec.data.readers import flows, read_flows
from fedsec.data.readers._tables import write_parquet
from fedsec.data.readers.chunks import read_chunks
from fedsec.data.readers.flows_arrow import pandas_frame
from fedsec.detect.alert_options import AlertOptions
from fedsec.detect.alert_options import alert_format as alert_format_of
from fedsec.detect.alerts import alert_records, explain, flow_scorer
from fedsec.detect.scoring import score_files
from fedsec.features.moments import local_stats
from fedsec.features.preprocess import fit_preprocessor
from fedsec.models.classifier import FamilyClassifier
from fedsec.models.mlp_spec import MLPSpec
from fedsec.simulator import load_simulation, simulate
from fedsec.simulator.output import write_dataset
from fedsec.training.plan import TrainingPlan

UNSIGNED = Trust(allow_unsigned=True)


def sample(work: Path) -> Path:
    """A simulated consortium's flows (all organizations) in one canonical flow CSV."""
    path = work / "sample.csv"
    if not path.exists():
        write_dataset(
            simulate(load_simulation("consortium", ["flows=40000"])), work / "sim", "flows"
        )
        files = sorted((work / "sim").glob("*/flows-*.csv"))
        pd.concat([pd.read_csv(f) for f in files], ignore_index=True).to_csv(path, index=False)
    return path


def resampled(work: Path, source: Path, rows: int) -> tuple[Path, Path]:
    """``rows`` rows drawn with replacement from ``source`` (seed 0), as CSV and Parquet."""
    csv, parquet = work / f"flows-{rows}.csv", work / f"flows-{rows}.parquet"
    if not csv.exists():
        frame = pd.read_csv(source, keep_default_na=False, dtype={"campaign": str})
        index = np.random.default_rng(0).integers(0, len(frame), rows)
        frame.iloc[index].to_csv(csv, index=False)
        write_parquet(frame.iloc[index], parquet)
    return csv, parquet


def arrow_ipc(parquet: Path) -> Path:
    """The Parquet file's rows as an Arrow IPC file (record batches of 65,536 rows)."""
    path = parquet.with_suffix(".arrow")
    if not path.exists():
        table = pq.read_table(parquet)
        with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=65_536)
    return path


def bundle(work: Path, source: Path) -> Path:
    path = work / "model"
    if not path.exists():
        seeding.deterministic_torch(threads=1)
        table = read_flows("flows", [source])
        features = table.features("canonical")
        classes = sorted(set(table.family))
        pre = fit_preprocessor(local_stats(features), 16)
        plan = TrainingPlan(steps=300, batch_size=256, lr=0.005, optimizer="adam", seed=1)
        spec = MLPSpec(pre.width, len(classes), (64, 32), 0.0)
        model = FamilyClassifier(spec, pre, classes, "canonical", plan=plan)
        model.initialize(torch.Generator().manual_seed(0)).fit(features.frame, table.family)
        save_bundle(path, model, {"input_formats": ["flows"]})
    return path


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e3:8.0f} k rows/s  ({seconds:6.2f} s)"


def timed(label: str, rows: int, run) -> dict[str, float]:
    """Wall and CPU seconds of ``run()`` (printed as rows/s)."""
    started, cpu = time.perf_counter(), time.process_time()
    run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{label:<44} {rate(rows, seconds)}  CPU {cpu:6.2f} s", flush=True)
    return {"wall": seconds, "cpu": cpu}


def repeated(label: str, rows: int, run, times: int = 3) -> dict[str, float]:
    """``run`` timed ``times`` times; the fastest (wall) is kept. The first call in a process
    can take several times longer: its memory is touched for the first time (on this VM,
    pyarrow's allocator asks for huge pages, and backing them cost up to ~1.5 s of system time
    for a 1 M-row CSV), so a ratio against it would flatter fedsec."""
    runs = [timed(f"{label} ({i + 1} of {times})", rows, run) for i in range(times)]
    return min(runs, key=lambda r: r["wall"])


def fresh_parse(csv: Path, rows: int) -> dict[str, float]:
    """``pyarrow.csv.read_csv`` in a fresh process, from before its imports to its exit (what
    ``end_to_end`` measures of ``fedsec detect``)."""
    code = (
        "import time\n"
        "t = time.perf_counter()\n"
        "import json, resource, sys\n"
        "import pyarrow.csv\n"
        "pyarrow.csv.read_csv(sys.argv[1])\n"
        "use = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print(json.dumps({'s': time.perf_counter() - t, 'cpu': use.ru_utime + use.ru_stime}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(csv)], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    label = "bare pyarrow CSV parse, a fresh process"
    print(f"{label:<44} {rate(rows, result['s'])}  CPU {result['cpu']:6.2f} s", flush=True)
    return {"wall": result["s"], "cpu": result["cpu"]}


def stages(csv: Path, parquet: Path, model_dir: Path, rows: int) -> dict[str, dict]:
    model, _ = load_bundle(model_dir, UNSIGNED)
    out: dict[str, dict] = {}
    out["pyarrow_csv"] = repeated("bare pyarrow CSV parse", rows, lambda: pacsv.read_csv(csv))
    out["pyarrow_parquet"] = repeated(
        "bare pyarrow Parquet read", rows, lambda: pq.read_table(parquet)
    )
    out["frame_reader_csv"] = timed(
        "pandas path per batch (the reader before), CSV", rows, lambda: frame_path(csv)
    )
    chunks: list = []
    out["reader_csv"] = timed(
        "fedsec chunked reader, CSV", rows, lambda: chunks.extend(read_chunks("flows", [csv]))
    )
    for path in (parquet, arrow_ipc(parquet)):
        kind = path.suffix[1:]
        out[f"frame_reader_{kind}"] = timed(
            f"pandas path per batch (the reader before), {kind}", rows, lambda p=path: frame_path(p)
        )
        out[f"reader_{kind}"] = timed(
            f"fedsec chunked reader, {kind}", rows, lambda p=path: drain(read_chunks("flows", [p]))
        )
    frames = [t.features("canonical").frame for t in chunks]
    matrices: list = []
    out["preprocess"] = timed(
        "preprocessing (canonical view -> matrix)",
        rows,
        lambda: matrices.extend(model.encode(f) for f in frames),
    )
    for threads in (1, 2):
        threadpool_limits(threads, user_api="blas")
        torch.set_num_threads(threads)
        out[f"forward_{threads}"] = timed(
            f"bare forward, {threads} thread(s)",
            rows,
            lambda: [model.proba_from_matrix(x) for x in matrices],
        )
        network = torch_network(model)
        out[f"torch_forward_{threads}"] = timed(
            f"torch forward (before), {threads} thread(s)",
            rows,
            lambda n=network: [torch_proba(n, x) for x in matrices],
        )
    return out


def torch_network(model) -> torch.nn.Module:
    """The bundle's network in torch, as ``fedsec detect`` scored with it before."""
    network = FamilyClassifier(model.spec, model.preprocessor, model.classes, model.view)
    return network.set_weights(model.get_weights()).module().eval()


def torch_proba(network: torch.nn.Module, x) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(network(torch.from_numpy(x.astype(np.float32))), dim=1).numpy()


def drain(tables) -> int:
    return sum(len(table) for table in tables)


def frame_path(path: Path) -> int:
    """The file's batches read as the streamed reader read them before the Arrow path: each
    batch to pandas, then ``flows.from_frame``."""
    first = 0
    found = chunked._batches(path, chunked.CHUNK_ROWS)
    assert found is not None
    for batch in found[0]:
        flows.from_frame(pandas_frame(batch, first), path)
        first += batch.num_rows
    return first


#: How ``overlap`` scores a file: (next chunk read in a thread, chunks scored at once).
WAYS = ((False, 1), (True, 1), (True, 2))


def overlap(path: Path, model_dir: Path, rows: int, alert_format: str) -> None:
    """Wall and CPU seconds of scoring ``path`` (score_files, as ``fedsec detect`` does) in
    one thread, with the next chunk read in a thread, and with two chunks scored at once as
    well, one after the other in this process."""
    threadpool_limits(1, user_api="blas")
    alerts = alert_format_of(
        model_dir, CLASSIFIER_KIND, None, AlertOptions(alert_format, observer="bench")
    )
    spent = {}
    for ahead, workers in WAYS:
        score = flow_scorer(model_dir, [path], "flows", None, None, UNSIGNED, alerts=alerts)
        out = path.with_suffix(f".overlap.{alert_format}.jsonl")
        spent[ahead, workers] = timed(
            f"score_files, {path.suffix[1:]}, {alert_format}, ahead {'on' if ahead else 'off'}, "
            f"{workers} worker(s)",
            rows,
            lambda s=score, o=out, a=ahead, w=workers: score_files(
                s, "flows", [path], o, ahead=a, workers=w
            ),
        )
    alone = spent[WAYS[0]]
    parts = []
    for ahead, workers in WAYS[1:]:
        run = spent[ahead, workers]
        parts.append(
            f"ahead {'on' if ahead else 'off'}, {workers} worker(s): wall "
            f"{run['wall'] / alone['wall']:.2f}x, CPU {run['cpu'] / alone['cpu']:.2f}x"
        )
    print(f"against one thread ({alert_format}): " + "; ".join(parts), flush=True)


def start_up() -> None:
    """CPU seconds and peak memory of the imports ``fedsec detect`` starts with (a fresh
    process; the modules of the largest libraries it loaded)."""
    code = (
        "import json, resource, sys\n"
        "import fedsec.cli, fedsec.detect.dispatch\n"
        "use = resource.getrusage(resource.RUSAGE_SELF)\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "roots = sorted({m.split('.')[0] for m in sys.modules})\n"
        "print(json.dumps({'cpu': use.ru_utime + use.ru_stime, 'rss': int(hwm.split()[1]),\n"
        "                  'roots': roots}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    heavy = [m for m in ("torch", "sklearn", "scipy", "pandas", "pyarrow") if m in result["roots"]]
    print(
        f"start-up (import fedsec.cli, fedsec.detect.dispatch): CPU {result['cpu']:.2f} s, peak "
        f"{result['rss'] / 1024:.0f} MiB; loads {', '.join(heavy)}",
        flush=True,
    )


def cpu_breakdown(
    path: Path, model_dir: Path, rows: int, alert_format: str = "ecs"
) -> dict[str, float]:
    """CPU seconds of each stage of detection on ``path`` as ``fedsec detect`` runs it (the
    flow scorer's steps, alerts in ``alert_format``), in this process (CPU time, not wall
    time: on a shared machine it moves less with the load than rates do)."""
    threadpool_limits(1, user_api="blas")
    alerts = alert_format_of(
        model_dir, CLASSIFIER_KIND, None, AlertOptions(alert_format, observer="bench")
    )
    score = flow_scorer(model_dir, [path], "flows", None, None, UNSIGNED, alerts=alerts)
    model = score.model
    names = ("read", "encode", "forward", "records", "explain", "lines")
    spent = dict.fromkeys(names, 0.0)
    clock, chunks = time.process_time, read_chunks("flows", [path])
    while True:
        marks = [clock()]
        table = next(chunks, None)
        if table is None:
            break
        marks.append(clock())
        frame = table.features(model.view).frame
        x = model.encode(frame)
        marks.append(clock())
        proba = model.proba_from_matrix(x)
        codes = model.codes_from_proba(proba, score.threshold)
        marks.append(clock())
        records = alert_records(
            table, proba, codes, model.malicious_score(proba), model.classes, score.tally.rows
        )
        marks.append(clock())
        if alerts.explain:
            explain(records, model, x, frame, table, score.threshold)
        marks.append(clock())
        alerts.lines(records)
        marks.append(clock())
        score.tally.add(table, codes)
        for stage, (start, end) in zip(names, pairwise(marks), strict=True):
            spent[stage] += end - start
    total = sum(spent.values())
    print(
        f"CPU s per stage ({rows:,} rows, {path.suffix[1:]}, {alert_format} alerts): "
        + ", ".join(f"{stage} {took:.2f}" for stage, took in spent.items())
        + f"; total {total:.2f} = {rows / total / 1e3:.0f} k rows per CPU-second",
        flush=True,
    )
    return spent


def end_to_end(
    model_dir: Path,
    path: Path,
    rows: int,
    threads: int | None,
    alert_format: str = "ecs",
    fmt: str = "flows",
) -> dict:
    """``fedsec detect`` in a fresh process, from before its imports to its exit: wall and CPU
    seconds (its scoring processes' included, when it forks them for a Parquet file's row
    groups; and the imports' share) and its peak memory (VmHWM: a child's ru_maxrss would
    start from this process's, which Linux keeps across exec), and its largest scoring
    process's (their RSS counts the pages they share with it)."""
    out = path.with_suffix(f".{alert_format}.jsonl")
    code = (
        "import time\n"
        "t = time.perf_counter()\n"
        "import json, resource, sys\n"
        "from typer.testing import CliRunner\n"
        "from fedsec.cli import app\n"
        "loaded = time.perf_counter() - t\n"
        "r = CliRunner().invoke(app, json.loads(sys.argv[1]))\n"
        "assert r.exit_code == 0, r.output\n"
        "use = resource.getrusage(resource.RUSAGE_SELF)\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "cpu = use.ru_utime + use.ru_stime + kids.ru_utime + kids.ru_stime\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(json.dumps({'s': time.perf_counter() - t, 'cpu': cpu, 'cli_import_s': loaded,\n"
        "                  'rss': int(hwm.split()[1]), 'scoring_rss': kids.ru_maxrss}))\n"
    )
    args = ["detect", "--model", str(model_dir), "--format", fmt, "--input", str(path)]
    args += ["--out", str(out), "--force", "--allow-unsigned", "--alert-format", alert_format]
    args += ["--threads", str(threads)] if threads else []
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    alerts = out.read_bytes().count(b"\n")
    label = f"detect end to end, {path.suffix[1:]}, {alert_format}, {rows:,} rows"
    scoring = result["scoring_rss"]
    forked = f" (scoring processes: {scoring / 1024:.0f} MiB each at most)" if scoring else ""
    print(
        f"{label:<44} {rate(rows, result['s'])}  CPU {result['cpu']:6.2f} s, peak "
        f"{result['rss'] / 1024:4.0f} MiB{forked}, {alerts:,} alerts "
        f"(CLI import {result['cli_import_s']:.1f} s wall)",
        flush=True,
    )
    return {"wall": result["s"], "cpu": result["cpu"], "peak_mib": result["rss"] / 1024}


def ratios(label: str, run: dict, bare: dict[str, dict]) -> None:
    """The run's rate as a multiple of the bare parse's (the fastest of three in this process,
    and a fresh process's, imports included) and the bare forward's, wall and CPU."""
    parts = []
    for clock in ("wall", "cpu"):
        parse, fresh = bare["pyarrow_csv"][clock], bare["fresh_csv"][clock]
        parts.append(
            f"{clock}: {parse / run[clock]:.3f}x the bare CSV parse "
            f"({fresh / run[clock]:.3f}x a fresh process's), "
            f"{bare['forward_1'][clock] / run[clock]:.3f}x the bare forward"
        )
    print(f"{label:<44} " + "; ".join(parts), flush=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="more end-to-end sizes")
    parser.add_argument("--threads", type=int, default=None, help="detect --threads")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fedsec-detect-rate"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    source = sample(args.work)
    model_dir = bundle(args.work, source)
    csv, parquet = resampled(args.work, source, args.rows)
    print(
        f"{args.rows:,} rows, {csv.stat().st_size / 2**20:.0f} MiB CSV; bench process peak "
        f"so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    print(load(), flush=True)
    start_up()
    bare = stages(csv, parquet, model_dir, args.rows)
    bare["fresh_csv"] = fresh_parse(csv, args.rows)
    for alert_format in ("fedsec", "ecs"):
        overlap(csv, model_dir, args.rows, alert_format)
    for alert_format in ("fedsec", "ecs"):
        cpu_breakdown(csv, model_dir, args.rows, alert_format)
    cpu_breakdown(parquet, model_dir, args.rows)
    print(load(), flush=True)
    runs = {
        ("csv", "ecs"): end_to_end(model_dir, csv, args.rows, args.threads),
        ("parquet", "ecs"): end_to_end(model_dir, parquet, args.rows, args.threads),
        ("csv", "fedsec"): end_to_end(model_dir, csv, args.rows, args.threads, "fedsec"),
    }
    sizes = {args.rows: runs[("csv", "ecs")]}
    for rows in args.sizes:
        more_csv, _ = resampled(args.work, source, rows)
        sizes[rows] = end_to_end(model_dir, more_csv, rows, args.threads)
    print(load(), flush=True)
    for (kind, alert_format), run in runs.items():
        ratios(f"end to end, {kind}, {alert_format} alerts", run, bare)
    parquet_run = runs[("parquet", "ecs")]
    print(
        f"Parquet end to end: {args.rows / parquet_run['wall'] / 1e6:.3f} M rows/s wall, "
        f"{args.rows / parquet_run['cpu'] / 1e6:.3f} M rows per CPU-second",
        flush=True,
    )
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        for clock in ("wall", "cpu"):
            seconds = sizes[large][clock] - sizes[small][clock]
            print(
                f"marginal {clock} rate (CSV, {small:,} -> {large:,} rows: start-up and imports "
                f"excluded): {(large - small) / seconds / 1e3:.0f} k rows/s, "
                f"{bare['pyarrow_csv'][clock] / seconds * (large - small) / args.rows:.3f}x the "
                "bare parse",
                flush=True,
            )


if __name__ == "__main__":
    main()
