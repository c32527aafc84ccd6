"""The vector code paths pinned to AVX2 at import: every process fedsec starts computes with
the same kernels whatever the CPU offers beyond AVX2, and a training run repeats bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fedsec.core import numerics
from tests.conftest import REPO, dataset

CAPABILITY = "import fedsec, torch; print(torch.backends.cpu.get_cpu_capability())"
STATE = "import fedsec, json; from fedsec.core import numerics; print(json.dumps(numerics.state()))"


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without the pins or the opt-out (as a fresh shell has it)."""
    drop = {*numerics.PINS, numerics.OPT_OUT}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "OMP_NUM_THREADS": "1", **extra}


def _python(code: str, env: dict[str, str], lines: int = 1):
    """The last line ``code`` prints in a fresh interpreter (``lines`` > 1: the last lines)."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip().splitlines()
    return printed[-1] if lines == 1 else printed[-lines:]


def _needs_avx2() -> None:
    if not numerics.cpu_has_avx2():
        pytest.skip("not an x86-64 CPU with AVX2: fedsec pins nothing here")


def test_a_fresh_process_importing_fedsec_runs_torch_on_its_avx2_kernels():
    _needs_avx2()
    capability, state = _python(f"{CAPABILITY}\n{STATE}", _clean_env(), lines=2)
    assert capability == "AVX2"
    recorded = json.loads(state)
    assert recorded["pinned"] == "avx2"
    assert {k: recorded[k] for k in numerics.PINS} == numerics.PINS


def test_settings_already_in_the_environment_are_kept_and_the_rest_pinned():
    environ = {"MKL_CBWR": "COMPATIBLE"}
    assert numerics.pin(environ, has_avx2=True) == "avx2"
    assert environ["MKL_CBWR"] == "COMPATIBLE"
    assert environ["ATEN_CPU_CAPABILITY"] == "avx2"


def test_the_opt_out_and_a_cpu_without_avx2_pin_nothing():
    opted_out = {numerics.OPT_OUT: "1"}
    assert "FEDSEC_NATIVE_NUMERICS is set" in numerics.pin(opted_out, has_avx2=True)
    assert opted_out == {numerics.OPT_OUT: "1"}
    other_cpu: dict[str, str] = {}
    assert "not an x86-64 CPU with AVX2" in numerics.pin(other_cpu, has_avx2=False)
    assert other_cpu == {}


def test_a_cpu_without_avx2_flags_is_told_apart(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse sse2 avx\n")
    assert not numerics.cpu_has_avx2(cpuinfo)
    cpuinfo.write_text("processor : 0\nflags : fpu sse sse2 avx fma avx2\n")
    assert numerics.cpu_has_avx2(cpuinfo) is (os.uname().machine in ("x86_64", "amd64"))


def _trained_weights(out: Path, env: dict[str, str]) -> str:
    """The sha256 of the federated model's weights after a short run on real UNSW-NB15 rows."""
    done = subprocess.run(
        [sys.executable, "-m", "fedsec", "simulate", "unsw-5org-disjoint", "--seed", "3",
         "--out", str(out), "--set", "rounds=3", "--set", "data.max_rows=4000",
         "--set", 'evaluation.arms=["federated"]', "--set", "privacy.audit=false",
         "--data-dir", str(dataset("unsw-nb15").parent)],
        env=env, cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((out / "model" / "bundle.json").read_text())["weights_sha256"]


def test_a_run_repeats_bit_for_bit_and_the_pins_are_what_makes_the_kernels_agree(tmp_path):
    """Pinned twice: the same weights. With the CPU's own kernels (opt-out) on a CPU with
    AVX-512, other weights: the kernels this CPU would choose compute differently, so without
    the pins another machine would not repeat this one's numbers."""
    _needs_avx2()
    pinned = _trained_weights(tmp_path / "a", _clean_env())
    assert _trained_weights(tmp_path / "b", _clean_env()) == pinned
    assert _numerics(tmp_path / "a")["pinned"] == "avx2"
    native = _python(CAPABILITY, _clean_env(**{numerics.OPT_OUT: "1"}))
    if native == "AVX2":
        pytest.skip("this CPU's own kernels are the AVX2 ones: nothing to tell apart here")
    unpinned = _trained_weights(tmp_path / "c", _clean_env(**{numerics.OPT_OUT: "1"}))
    assert unpinned != pinned
    assert _numerics(tmp_path / "c")["torch_cpu_capability"] == native


def _numerics(run: Path) -> dict:
    """What the run's metrics.json says of the kernels it ran on."""
    return json.loads((run / "metrics.json").read_text())["numerics"]


def test_this_test_process_runs_pinned_too():
    """tests/conftest.py imports fedsec first, so the in-process runs the suite compares with
    subprocesses' use the same kernels (no plugin loaded numpy or torch before it)."""
    _needs_avx2()
    assert numerics.state()["pinned"] == "avx2"
