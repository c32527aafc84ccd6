"""The same numbers on every x86-64 CPU: the vector code paths of torch, MKL, oneDNN, numpy
and OpenBLAS pinned to AVX2.

Each of those libraries picks its kernels for the CPU it runs on, and an AVX-512 kernel sums
in another order than an AVX2 one. One seed then gives other numbers on another machine, and
FedAdam's round-to-round swings amplify the last bits into points of macro-F1: measured on
``unsw-5org-disjoint`` (non-private, federated arm), seed 7 gave 0.542 with this AMD EPYC's
AVX-512 kernels and 0.595 with AVX2 ones, the number another machine had measured the day
before with the same code (seed 0: 0.604 against 0.574, likewise). Pinned, those two machines
agreed to the third decimal; an Intel Xeon with AVX-512 still did not (seed 0: 0.587, also with
``MKL_CBWR=COMPATIBLE``: some kernel is not held by these variables yet), so a run repeats on
one machine and across machines within about a point. The AVX2 kernels cost a training run
3-14 % of its time and ``fedsec detect`` nothing measurable (README, "The same numbers on
another machine").

:func:`pin` runs when ``fedsec`` is imported, before numpy or torch is: each library reads its
variable when it loads or first computes. A variable already set in the environment is left as
it is; ``FEDSEC_NATIVE_NUMERICS=1`` keeps every library's own choice (fastest, but the numbers
then depend on the CPU). Subprocesses (NVFlare job processes, Ray workers, ``fedsec`` commands)
inherit the variables.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import MutableMapping
from pathlib import Path

#: What each library reads, and the AVX2 setting.
PINS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own vectorized kernels
    "MKL_CBWR": "AVX2",  # MKL's conditional numerical reproducibility mode (torch's BLAS)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN's kernels (torch)
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's OpenBLAS kernels (Haswell: the AVX2 ones)
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # numpy's own AVX-512 loops
}
OPT_OUT = "FEDSEC_NATIVE_NUMERICS"
#: The ISA the pins hold every library to.
PINNED_ISA = "avx2"


def cpu_has_avx2(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this is an x86-64 CPU with AVX2 and FMA (what the pinned kernels need)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return {"avx2", "fma"} <= set(flags.split())


def pin(environ: MutableMapping[str, str] = os.environ, has_avx2: bool | None = None) -> str:
    """Set the pins in ``environ`` (those not set already); returns ``PINNED_ISA``, or why
    nothing was pinned."""
    if environ.get(OPT_OUT, "") not in ("", "0"):
        return f"not pinned: {OPT_OUT} is set"
    if not (cpu_has_avx2() if has_avx2 is None else has_avx2):
        return "not pinned: not an x86-64 CPU with AVX2"
    for name, value in PINS.items():
        environ.setdefault(name, value)
    return PINNED_ISA


#: What :func:`pin` did when fedsec was imported.
_pinned = "not pinned"


def pin_at_import() -> None:
    """:func:`pin`, once, remembering what it did and whether numpy or torch came first."""
    global _pinned
    early = [name for name in ("numpy", "torch") if name in sys.modules]
    _pinned = pin()
    if early and _pinned == PINNED_ISA:
        _pinned += f" ({' and '.join(early)} imported before fedsec)"


def shell_pins() -> str:
    """The pins as bash lines for a startup script (an NVFlare kit's ``sub_start.sh``), for
    processes NVFlare starts before any fedsec code runs: applied on a CPU with AVX2 unless
    the opt-out is set, a variable already set kept."""
    exports = "".join(f'  export {name}="${{{name}:-{value}}}"\n' for name, value in PINS.items())
    return (
        "# fedsec: the same numbers on every CPU with AVX2 (fedsec.core.numerics)\n"
        f'if [[ "${{{OPT_OUT}:-0}}" == "0" ]] && grep -qw avx2 /proc/cpuinfo 2>/dev/null '
        "&& grep -qw fma /proc/cpuinfo; then\n"
        f"{exports}fi\n"
    )


def state() -> dict[str, str]:
    """What a run records: the pins' state and the kernels torch uses (when it is loaded)."""
    record = {"pinned": _pinned}
    if "torch" in sys.modules:
        record["torch_cpu_capability"] = sys.modules["torch"].backends.cpu.get_cpu_capability()
    for name in PINS:
        if name in os.environ:
            record[name] = os.environ[name]
    return record
