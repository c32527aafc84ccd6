"""The site's NVFlare executor: fedsec's site role, installed with fedsec, configured locally.

It takes no arguments from the job. What it reads comes from the site's own
``local/fedsec_site.toml`` in its startup kit; the job only carries typed, validated task data.
This is the one class a hardened site allow-lists (never NVFlare's generic client-API executor,
whose arguments can run any command).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from nvflare.apis.executor import Executor
from nvflare.apis.fl_constant import ReturnCode
from nvflare.apis.fl_context import FLContext
from nvflare.apis.shareable import Shareable, make_reply
from nvflare.apis.signal import Signal

from fedsec.core.errors import FedsecError
from fedsec.engines.nvflare.attestation import release_of
from fedsec.engines.nvflare.hekeys import load_kit_context
from fedsec.engines.nvflare.identity import KitIdentity
from fedsec.engines.nvflare.keyguard import check_kit
from fedsec.engines.nvflare.ledger_file import LEDGER_FILE
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SITE_CONFIG
from fedsec.engines.nvflare.site_notes import load_for_job
from fedsec.engines.nvflare.site_trees import kit_booster_link
from fedsec.fl.privacy.he import CLIENT_CONTEXT, HeError
from fedsec.fl.privacy.secagg import SecAggError
from fedsec.fl.privacy.secagg.encoding import EncodingOverflowError

EXECUTOR_PATH = "fedsec.engines.nvflare.executor.FedsecExecutor"
REFUSALS = (PlanRefused, FedsecError, SecAggError, EncodingOverflowError, HeError)


class FedsecExecutor(Executor):
    def __init__(self) -> None:
        super().__init__()
        self._site: Site | None = None

    def execute(
        self, task_name: str, shareable: Shareable, fl_ctx: FLContext, abort_signal: Signal
    ) -> Shareable:
        try:
            site = self._load(fl_ctx)
            data = {k: v for k, v in shareable.items() if not str(k).startswith("__")}
            result = site.handle(task_name, data)
        except REFUSALS as error:
            detail = getattr(error, "detail", None)  # what the site keeps to itself
            kept = f" ({detail})" if detail else ""
            self.log_error(fl_ctx, f"refused {task_name}: {error}{kept}")
            return _error(ReturnCode.BAD_TASK_DATA, str(error))
        except Exception as error:  # report, never crash the site's job process
            self.log_exception(fl_ctx, f"{task_name} failed: {error}")
            return _error(ReturnCode.EXECUTION_EXCEPTION, f"{type(error).__name__}: {error}")
        reply = Shareable()
        reply.update(result)
        return reply

    def _load(self, fl_ctx: FLContext) -> Site:
        if self._site is None:
            workspace = fl_ctx.get_engine().get_workspace()
            startup = Path(workspace.get_startup_kit_dir())
            check_kit(startup.parent)  # no task while a private key of the kit is exposed
            path = Path(workspace.get_site_config_dir()) / SITE_CONFIG
            config = load_for_job(path, partial(self.log_warning, fl_ctx))
            name = fl_ctx.get_identity_name()
            keys = KitIdentity.from_startup(startup, name)
            job = str(fl_ctx.get_job_id())
            he_key = partial(load_kit_context, startup, CLIENT_CONTEXT)
            link = partial(kit_booster_link, startup)
            ledger = path.parent / LEDGER_FILE
            release = release_of(Path(workspace.get_client_app_config_file_path(job)))
            self._site = Site(
                config, path.parent, name, keys, job, he_key, link, ledger, release=release
            )
        return self._site


def _error(code: str, message: str) -> Shareable:
    reply = make_reply(code)
    reply["error"] = message
    return reply
