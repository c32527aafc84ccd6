"""A site or coordinator refuses to start while its kit's private files are exposed.

Every startup kit fedsec provisions lists :class:`KitKeyGuard` among the components of its
``local/resources.json``; NVFlare builds those when the site or coordinator process starts, in
the kit's folder, so a private key (``startup/*.key``) or the CKKS secret context
(``startup/client_context.tenseal``) that other users can read stops the process with a message
naming the file and the ``chmod`` that fixes it. fedsec's own launcher and its executor and
controller run the same check.
"""

from __future__ import annotations

from pathlib import Path

from nvflare.apis.fl_component import FLComponent

from fedsec.core import keyfiles
from fedsec.core.errors import ConfigError
from fedsec.fl.privacy.he import CLIENT_CONTEXT

GUARD_PATH = "fedsec.engines.nvflare.keyguard.KitKeyGuard"
#: Files of a kit's ``startup/`` folder that only its owner may read.
SECRET_PATTERNS = ("*.key", CLIENT_CONTEXT)


def kit_secrets(kit: Path) -> list[Path]:
    """The private files of the startup kit in ``kit``."""
    startup = Path(kit) / "startup"
    return sorted({p for pattern in SECRET_PATTERNS for p in startup.glob(pattern)})


def check_kit(kit: Path) -> list[Path]:
    """Refuse (naming the file and the fix) when another user can read a private file."""
    secrets = kit_secrets(kit)
    for path in secrets:
        keyfiles.check_private(path, "a private key of this startup kit")
    return secrets


class KitKeyGuard(FLComponent):
    """Checks the kit's private files when NVFlare builds the site's components at start."""

    def __init__(self) -> None:
        super().__init__()
        kit = Path.cwd()  # NVFlare enters the kit's folder before it builds components
        if not (kit / "startup").is_dir():
            raise ConfigError(f"{kit}: not a startup kit (no startup/ folder) to check")
        check_kit(kit)
