"""``fedsec detect`` loads only what scoring needs: the libraries of training, privacy
accounting and plotting stay out of its start-up (they cost seconds of CPU and hundreds of MiB)."""

import json
import subprocess
import sys

#: Imported by training (Opacus), privacy accounting (dp-accounting) and figures (matplotlib).
NOT_FOR_SCORING = ("opacus", "dp_accounting", "matplotlib")


def test_the_detect_command_imports_no_training_accounting_or_plotting_library():
    code = (
        "import json, sys\n"
        "import fedsec.cli\n"
        "from fedsec.detect import alerts, dispatch, follow, threads\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert loaded.isdisjoint(NOT_FOR_SCORING), sorted(loaded & set(NOT_FOR_SCORING))
    assert {"torch", "pyarrow", "fedsec"} <= loaded  # the check itself sees what is imported
