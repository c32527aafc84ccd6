"""Code run in a fresh interpreter that may not write files past 64 KiB: how the tests make a
write fail half-way, as a full disk does."""

import subprocess
import sys

#: run first: files of this process may not grow past 64 KiB
SMALL_FILES = (
    "import resource, sys\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, "
    "(1 << 16, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))\n"
)


def with_small_files(code: str, *args: str) -> subprocess.CompletedProcess:
    """``code`` run in a fresh interpreter whose files may not grow past 64 KiB (a write past
    it fails as a full disk would)."""
    return subprocess.run(
        [sys.executable, "-c", SMALL_FILES + code, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
