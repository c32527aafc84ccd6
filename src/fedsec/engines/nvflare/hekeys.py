"""The CKKS contexts NVFlare's ``HEBuilder`` provisions, read from a startup kit.

Provisioning (``fedsec federation provision --he``) writes ``client_context.tenseal`` (with the
consortium's secret key) into every site's kit and ``server_context.tenseal`` (no key) into the
coordinator's, and signs both with the project's root key. They are only used when that
signature verifies, so a context swapped in a kit after provisioning is refused.
"""

from __future__ import annotations

from pathlib import Path

from nvflare.fuel.sec.security_content_service import LoadResult, SecurityContentManager

from fedsec.fl.privacy import he


def load_kit_context(startup: Path, name: str) -> bytes:
    """The signed context file ``name`` of the startup kit in ``startup``."""
    path = Path(startup) / name
    data, result = SecurityContentManager(str(startup)).load_content(name)
    if result == LoadResult.NO_SUCH_CONTENT:
        raise he.HeError(f"{path}: missing; the federation was provisioned without --he")
    if result != LoadResult.OK:
        raise he.HeError(f"{path}: {result.value}; not as provisioning signed it")
    return data


def coordinator_context(startup: Path) -> object:
    """The coordinator's context: refused if missing, unsigned, or holding a secret key."""
    data = load_kit_context(startup, he.SERVER_CONTEXT)
    return he.load_context(data, private=False, what=str(Path(startup) / he.SERVER_CONTEXT))
