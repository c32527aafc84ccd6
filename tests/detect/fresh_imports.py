"""What a fresh interpreter has imported after running some code, or a ``fedsec detect`` run:
the start-up cost tests read it."""

import json
import subprocess
import sys


def loaded_modules(code: str, *args: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code`` (a package's
    submodule brings the package's own name with it)."""
    code += "\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def detect_run_loads(model_dir, flows, fmt: str, out, *options: str) -> set[str]:
    """The modules a fresh ``fedsec detect`` run (ECS alerts) has imported."""
    args = ["detect", "--model", str(model_dir), "--format", fmt, "--input", str(flows)]
    args += ["--out", str(out), "--allow-unsigned", *options]
    return loaded_modules(
        "import json, sys\nfrom typer.testing import CliRunner\nfrom fedsec.cli import app\n"
        "result = CliRunner().invoke(app, json.loads(sys.argv[1]))\n"
        "assert result.exit_code == 0, result.output",
        json.dumps(args),
    )
