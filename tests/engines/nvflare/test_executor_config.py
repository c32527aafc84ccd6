"""The site's executor reads its config when a job's first task arrives: each weak setting is
logged as a warning (an operator's hand edit was otherwise never commented on), and an invalid
config is refused to the (untrusted) coordinator naming ``local/fedsec_site.toml``, never the
kit's absolute path (which stays in the site's own log)."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

pytest.importorskip("nvflare")

from nvflare.apis.fl_constant import ReturnCode
from nvflare.apis.shareable import Shareable
from nvflare.apis.signal import Signal

from fedsec.engines.nvflare import poc
from fedsec.engines.nvflare.executor import FedsecExecutor
from fedsec.engines.nvflare.site_config import SITE_CONFIG, SiteConfig, write_site_config

SITE = "site-1"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return poc.prepare(tmp_path_factory.mktemp("poc"), [SITE]).kit(SITE)


def _execute(kit, monkeypatch) -> tuple[Shareable, list[str], list[str]]:
    warnings, errors = [], []
    monkeypatch.setattr(FedsecExecutor, "log_warning", lambda _s, _c, m, *a: warnings.append(m))
    monkeypatch.setattr(FedsecExecutor, "log_error", lambda _s, _c, m, *a: errors.append(m))
    fl_ctx = MagicMock()
    fl_ctx.get_identity_name.return_value = SITE
    fl_ctx.get_job_id.return_value = "job-config"
    workspace = fl_ctx.get_engine().get_workspace()
    workspace.get_startup_kit_dir.return_value = str(kit / "startup")
    workspace.get_site_config_dir.return_value = str(kit / "local")
    reply = FedsecExecutor().execute("fedsec_unknown_task", Shareable(), fl_ctx, Signal())
    return reply, warnings, errors


def test_an_invalid_config_is_refused_without_the_kits_path(kit, monkeypatch):
    (kit / "local" / SITE_CONFIG).write_text(
        f'name = "{SITE}"\n[secure_aggregation]\nmembers = ["{SITE}", "iot "]\n'
    )
    reply, _, errors = _execute(kit, monkeypatch)
    assert reply.get_return_code() == ReturnCode.BAD_TASK_DATA
    said = reply["error"]
    assert said.startswith(f"local/{SITE_CONFIG}: invalid site config"), said
    assert "'iot ' is not allowed" in said
    assert str(kit) not in said
    assert any(str(kit / "local" / SITE_CONFIG) in e for e in errors)  # the site's own log


def test_each_weak_setting_is_logged_when_a_job_loads_the_config(kit, monkeypatch):
    flows = [{"format": "zeek", "paths": ["conn.log"]}]
    config = SiteConfig.model_validate({"name": SITE, "sources": flows})  # no members
    write_site_config(config, kit / "local" / SITE_CONFIG)
    _, warnings, _ = _execute(kit, monkeypatch)
    assert any("[secure_aggregation] members is unset" in w for w in warnings), warnings
    assert all(w.startswith(str(kit / "local" / SITE_CONFIG)) for w in warnings)
