"""The one run-directory writer: config.toml, metrics.json, report.md, figures and the model
bundle of any task's run, written atomically."""

from __future__ import annotations

from pathlib import Path

from fedsec.bundles.signing import Signer
from fedsec.core import atomic, numerics, outputs
from fedsec.tasks.base import Run

WRITER = "fedsec simulate"  # the command named in a run folder's marker
MODEL_DIR = "model"
LOCAL_DIR = "local"  # each organization's local-only model, one bundle per organization


def write_run(
    run: Run,
    out: Path,
    signer: Signer | None = None,
    *,
    force: bool = False,
    writer: str = WRITER,
) -> Path:
    """Everything the run produced, in one directory that appears complete or not at all (an
    earlier fedsec output at ``out`` is replaced only with ``force``: see
    :mod:`fedsec.core.outputs`); the bundle is signed by ``signer`` (default: the user's key)."""
    with outputs.output_directory(Path(out), writer, force=force) as staging:
        fill_run(run, staging, signer)
    return Path(out)


def fill_run(run: Run, folder: Path, signer: Signer | None = None) -> None:
    """The run's files in ``folder``: config, metrics, report, figures and, when the run
    trained a model it ships, the bundle in ``folder / MODEL_DIR``, and the local arm's models
    (one bundle per organization) in ``folder / LOCAL_DIR``."""
    metrics = {**run.metrics, "timing": run.timing, "numerics": numerics.state()}
    config_text = run.scenario.to_toml()
    (folder / "config.toml").write_text(config_text)
    atomic.write_json(folder / "metrics.json", metrics)
    (folder / "report.md").write_text(run.task.render(metrics, run.timing, config_text))
    run.task.write_figures(run, folder)
    if run.ships_model():
        run.task.save_bundle(run, folder / MODEL_DIR, signer)
    run.task.save_local_bundles(run, folder / LOCAL_DIR, signer)
