"""What an NVFlare job process loads before its first task: every job start on a site or on
the coordinator pays for it, four processes at once in a deployment on one machine.
scikit-learn (with SciPy, about 2 CPU-s) is loaded only where a metric is computed."""

import subprocess
import sys

import pytest

from fedsec.engines.nvflare.provision import CONTROLLER_PATH, EXECUTOR_PATH

#: Loaded only on the paths that use them: evaluation (scikit-learn, SciPy), plotting
#: (matplotlib, never in a job), torch.compile (torch's compiler stack, which fedsec never uses).
NOT_AT_START = ("sklearn", "scipy", "matplotlib", "torch._dynamo", "torch._inductor")


@pytest.mark.parametrize("path", [CONTROLLER_PATH, EXECUTOR_PATH])
def test_a_job_entry_point_loads_no_evaluation_or_compiler_library(path):
    module = path.rsplit(".", 1)[0]
    code = (
        f"import sys, {module}\nprint(' '.join(m for m in {NOT_AT_START!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [], f"{module} loads {result.stdout.strip()}"
