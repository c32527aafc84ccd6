"""fedsec federation / fedsec job as a user runs them (no processes started here)."""

import json
import os
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedsec.cli import app

runner = CliRunner()


def test_provision_writes_hardened_kits(tmp_path):
    pytest.importorskip("nvflare")
    result = runner.invoke(
        app,
        [
            "federation", "provision",
            "--project", "consortium",
            "--coordinator", "fl.example.org",
            "--site", "plant:acme_industries",
            "--site", "cloud",
            "--admin", "ops@example.org",
            "--admin", "soc@acme.example:acme_industries:org_admin",
            "--out", str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kits = tmp_path / "kits" / "consortium" / "prod_00"
    for kit in ("fl.example.org", "plant", "cloud", "ops@example.org", "soc@acme.example"):
        assert (kits / kit / "startup").is_dir(), kit
    policy = json.loads((kits / "plant" / "local" / "authorization.json").read_text())
    assert all(r.get("byoc", "none") == "none" for r in policy["permissions"].values())
    startup = json.loads((kits / "plant" / "startup" / "fed_client.json").read_text())
    assert startup["servers"][0]["service"]["target"] == "fl.example.org:8002"
    assert "root CA's private key" in result.output


def test_provision_with_he_puts_the_secret_key_only_in_site_kits(tmp_path):
    pytest.importorskip("nvflare")
    result = runner.invoke(
        app,
        [
            "federation", "provision", "--project", "p", "--coordinator", "hub",
            "--site", "plant", "--site", "cloud", "--admin", "ops@example.org",
            "--out", str(tmp_path), "--he",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kits = tmp_path / "kits" / "p" / "prod_00"
    assert (kits / "hub" / "startup" / "server_context.tenseal").is_file()
    assert not (kits / "hub" / "startup" / "client_context.tenseal").exists()
    for site in ("plant", "cloud"):
        assert (kits / site / "startup" / "client_context.tenseal").is_file()
    signed = json.loads((kits / "hub" / "startup" / "signature.json").read_text())
    assert "server_context.tenseal" in signed
    assert "CKKS secret key" in result.output


def test_provisioning_again_replaces_another_project_only_with_force(tmp_path):
    """A second provision at the same --out rewrote project.yml (another project's, or the
    same with a site added) without a word."""
    pytest.importorskip("nvflare")
    base = ["federation", "provision", "--project", "p", "--coordinator", "hub",
            "--admin", "ops@example.org", "--out", str(tmp_path), "--site", "plant"]  # fmt: skip
    assert runner.invoke(app, base).exit_code == 0
    first = (tmp_path / "project.yml").read_text()
    again = runner.invoke(app, base)  # the same project: new kits, same CA
    assert again.exit_code == 0, again.output
    assert (tmp_path / "kits" / "p" / "prod_01" / "plant").is_dir()

    grown = runner.invoke(app, [*base, "--site", "cloud"])
    assert grown.exit_code == 2
    assert "already describes project p, not this one" in grown.output
    assert "--force" in grown.output
    assert (tmp_path / "project.yml").read_text() == first
    assert not (tmp_path / "kits" / "p" / "prod_02").exists()

    forced = runner.invoke(app, [*base, "--site", "cloud", "--force"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "kits" / "p" / "prod_02" / "cloud").is_dir()
    assert "cloud" in (tmp_path / "project.yml").read_text()


def test_provision_refuses_clashing_names(tmp_path):
    pytest.importorskip("nvflare")
    result = runner.invoke(
        app,
        [
            "federation", "provision", "--project", "p", "--coordinator", "hub",
            "--site", "hub", "--admin", "a@b.org", "--out", str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "must all differ" in result.output


def test_commands_without_a_federation_fail_clearly(tmp_path):
    """The message stays whole whatever the path's length (it was wrapped at 80 columns)."""
    folder = tmp_path / ("a-long-folder-name-" * 4)
    folder.mkdir()
    stop = runner.invoke(app, ["federation", "stop", "--dir", str(folder)])
    assert stop.exit_code == 2
    assert "no loopback federation here" in stop.output
    assert str(folder) in stop.output
    poc = runner.invoke(app, ["federation", "poc", "--dir", str(folder)])
    assert poc.exit_code == 2
    assert "pass --sites N or --scenario NAME" in poc.output


def test_site_config_is_written_from_a_per_source_scenario(tmp_path, data_dir):
    """Paths become absolute with symlinks resolved, so a symlinked data folder works too."""
    link = tmp_path / "data-link"
    link.symlink_to(data_dir, target_is_directory=True)
    result = runner.invoke(
        app,
        [
            "federation", "site-config", "toniot-devices", "--org", "fridge",
            "--data-dir", str(link), "--out", str(tmp_path / "fedsec_site.toml"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = tomllib.loads((tmp_path / "fedsec_site.toml").read_text())
    assert config["name"] == "fridge"
    (source,) = config["sources"]
    (path,) = source["paths"]
    assert Path(path) == (data_dir / "ton-iot-telemetry" / "Train_Test_IoT_Fridge.csv.gz").resolve()
    assert Path(path).is_file()
    assert "note: no record-level DP floor" in result.output
    partitioned = runner.invoke(
        app,
        [
            "federation", "site-config", "unsw-5org-disjoint", "--org", "org1",
            "--data-dir", str(data_dir), "--out", str(tmp_path / "x.toml"),
        ],
    )  # fmt: skip
    assert partitioned.exit_code == 2
    assert "needs each organization's own files" in partitioned.output
    edited = tmp_path / "fedsec_site.toml"
    edited.write_text(edited.read_text() + "# max_epsilon = 2  (the site's own floor)\n")
    args = ["federation", "site-config", "toniot-devices", "--org", "fridge"]
    args += ["--data-dir", str(data_dir), "--out", str(edited)]
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "pass --force" in again.output
    assert edited.read_text().endswith("(the site's own floor)\n")
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


def test_provision_names_a_bad_org(tmp_path):
    pytest.importorskip("nvflare")
    result = runner.invoke(
        app,
        [
            "federation", "provision", "--project", "p", "--coordinator", "hub",
            "--site", "plant:acme-industries", "--admin", "a@b.org", "--out", str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "org name 'acme-industries' is not allowed" in result.output


def test_job_submit_refuses_an_exposed_admin_key_before_submitting(tmp_path):
    """The admin's kit key signs the run's bundle: checked before any job is sent."""
    pytest.importorskip("nvflare")
    made = runner.invoke(
        app,
        [
            "federation", "provision", "--project", "p", "--coordinator", "hub",
            "--site", "plant", "--admin", "ops@example.org", "--out", str(tmp_path / "fed"),
        ],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "Every private key is mode 600" in " ".join(made.output.split())
    kit = tmp_path / "fed" / "kits" / "p" / "prod_00" / "ops@example.org"
    os.chmod(kit / "startup" / "client.key", 0o644)
    result = runner.invoke(
        app,
        [
            "job", "submit", "unsw-5org-disjoint", "--admin-kit", str(kit),
            "--username", "ops@example.org", "--out", str(tmp_path / "run"), "--timeout", "5",
        ],
    )  # fmt: skip
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "mode 0644" in text and "chmod 600" in text
    assert not (tmp_path / "run").exists()


def _site_config(tmp_path, data_dir, *extra):
    out = tmp_path / "fedsec_site.toml"
    result = runner.invoke(
        app,
        [
            "federation", "site-config", "toniot-devices", "--org", "fridge",
            "--data-dir", str(data_dir), "--out", str(out), *extra,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return tomllib.loads(out.read_text()), result.output


def test_site_config_requires_secure_aggregation_unless_opted_out(tmp_path, data_dir):
    written, _ = _site_config(tmp_path, data_dir)
    assert written["require_secure_aggregation"] is True
    written, output = _site_config(tmp_path, data_dir, "--no-secure-aggregation", "--force")
    assert written["require_secure_aggregation"] is False
    assert "in clear" in output


@pytest.mark.parametrize("flag, required", [([], True), (["--no-secure-aggregation"], False)])
def test_poc_sites_require_secure_aggregation_unless_opted_out(
    tmp_path, data_dir, monkeypatch, flag, required
):
    pytest.importorskip("nvflare")
    from fedsec.engines.nvflare import poc

    monkeypatch.setattr(poc, "start", lambda prepared, timeout: prepared)  # no processes
    result = runner.invoke(
        app,
        [
            "federation", "poc", "--scenario", "toniot-devices", "--data-dir", str(data_dir),
            "--dir", str(tmp_path / "poc"), *flag,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    state = poc.load_poc(tmp_path / "poc")
    for site in state.sites:
        config = tomllib.loads((state.kit(site) / "local" / "fedsec_site.toml").read_text())
        assert config["require_secure_aggregation"] is required, site
    assert ("sites require secure aggregation" in result.output) is required
    said = "".join(result.output.split())  # a long path may be wrapped at any width
    folder = str(tmp_path / "poc")
    assert f"--federation{folder};stopwith:fedsecfederationstop--dir{folder}" in said


def test_what_deployment_cannot_run_of_a_logs_scenario_is_refused(tmp_path):
    """Logs jobs deploy; what stays refused: homomorphic encryption (the vocabulary is summed
    in clear or by secure aggregation) and a site config from a scenario that deals one
    dataset out to its organizations (a site reads its own files)."""
    pytest.importorskip("nvflare")
    submit = ["job", "submit", "hdfs-5org", "--federation", str(tmp_path)]
    result = runner.invoke(app, [*submit, "--set", "privacy.homomorphic_encryption=true"])
    assert result.exit_code == 2, result.output
    assert "homomorphic_encryption is not available to logs jobs" in result.output
    site = runner.invoke(
        app,
        [
            "federation", "site-config", "hdfs-5org", "--org", "org1",
            "--data-dir", str(tmp_path), "--out", str(tmp_path / "site.toml"),
        ],
    )  # fmt: skip
    assert site.exit_code == 2, site.output
    assert "partitions one dataset among organizations (iid)" in site.output
    assert not (tmp_path / "site.toml").exists()


def test_site_config_says_what_it_leaves_to_the_coordinator_or_to_public_values(tmp_path, data_dir):
    """A site config without a DP floor lets each plan decide the noise, and fedsec's default
    logs hashing key is public: both were written without a word."""
    out = tmp_path / "fedsec_site.toml"
    args = ["federation", "site-config", "logs-cross-system", "--org", "hadoop"]
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "note: no record-level DP floor" in result.output
    assert "hash_key: 'fedsec-logs' is printed in fedsec's code or docs" in " ".join(
        result.output.split()
    )
    config = tomllib.loads(out.read_text())
    config["logs"]["hash_key"] = "9f2c41d0b7e5a38c6d14f0e2b9a7c513"  # the consortium's secret
    config["privacy"] = {"max_epsilon": 1.0, "min_client_noise": 1.0}
    from fedsec.engines.nvflare.site_config import SiteConfig
    from fedsec.engines.nvflare.site_notes import weak_settings

    assert weak_settings(SiteConfig.model_validate(config)) == []
    config["model_check"] = {"enabled": False}
    (off,) = weak_settings(SiteConfig.model_validate(config))
    assert off.startswith("[model_check] is off")
