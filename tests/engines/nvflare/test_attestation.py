"""Signed evaluation statements: a site signs what it evaluated and reported with its kit's
key; the admin releases a model only when every site's statement matches the result."""

from __future__ import annotations

import base64
import copy
import json
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from fedsec.engines.nvflare.attestation import (
    RELEASE_KEY,
    ReleaseTerms,
    attest,
    new_release,
    release_of,
    require_attested,
)
from fedsec.engines.nvflare.job import APP, CLIENT_CONFIG, build_job, job_release
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec
from fedsec.engines.nvflare.records import JobResult
from fedsec.engines.nvflare.replies import EvaluateReply
from fedsec.engines.nvflare.results import DeploymentError, read_result, write_result
from fedsec.engines.nvflare.setups import parse_setup
from fedsec.engines.nvflare.site_models import DetectorModel
from fedsec.engines.nvflare.wire import params_to_wire
from fedsec.scenarios.loading import load_scenario
from tests.engines.nvflare.kits import Project
from tests.engines.nvflare.test_setups import setup as detector_setup

JOB = "job-7"
SITES = ("plant", "cloud")
TERMS = ReleaseTerms(target_fpr=0.01)


@pytest.fixture(scope="module")
def identities(project):
    return {site: project.identity(site) for site in SITES}


@pytest.fixture(scope="module")
def model():
    setup = detector_setup()
    return setup, DetectorModel().detector(parse_setup(setup)).get_weights()


def reply(threshold: float) -> dict:
    return {
        "validation": {"threshold": threshold, "rows": 120, "fpr": np.float64(0.0083)},
        "test": {"roc_auc": 0.91, "rows": 80, "unseen": float("nan")},
        "accepted": True,
        "gate": None,
        "sample_dp": {},
    }


def signed(keys, model, threshold: float, job: str = JOB) -> dict:
    setup, params = model
    request = SimpleNamespace(
        params=params_to_wire(params), model=parse_setup(setup), target_fpr=TERMS.target_fpr
    )
    return attest(keys, job, request, reply(threshold))


def result_of(evaluation: dict, model, tmp_path) -> JobResult:
    """The result as the admin reads it: relayed by the coordinator, through result.json."""
    setup, params = model
    relayed = {
        s: r if "error" in r else EvaluateReply.from_wire(r).to_wire()
        for s, r in evaluation.items()
    }
    result = JobResult(sites=list(SITES), params=params, setup=setup, evaluation=relayed)
    return read_result(write_result(result, tmp_path / "fedsec"))


@pytest.fixture
def honest(identities, model, tmp_path):
    evaluation = {s: signed(identities[s], model, 0.25 + i) for i, s in enumerate(SITES)}
    return evaluation


def test_honest_statements_verify_after_the_coordinators_relay(honest, model, project, tmp_path):
    result = result_of(honest, model, tmp_path)
    require_attested(result, JOB, project.root_pem(), SITES, TERMS)


def refused(result, why, project, job=JOB):
    with pytest.raises(DeploymentError, match=why) as raised:
        require_attested(result, job, project.root_pem(), SITES, TERMS)
    assert "\n" not in str(raised.value)


def test_altered_params_are_refused(honest, model, project, tmp_path):
    setup, params = model
    doctored = [p.copy() for p in params]
    doctored[0].flat[0] += 0.5
    result = result_of(honest, (setup, doctored), tmp_path)
    refused(result, "site plant's evaluation refused: params sha256 differs", project)


def test_an_altered_setup_is_refused(honest, model, project, tmp_path):
    setup, params = model
    result = result_of(honest, (setup | {"error_floor": 0.5}, params), tmp_path)
    refused(result, "site plant's evaluation refused: setup differs", project)


def test_an_altered_threshold_is_refused(honest, model, project, tmp_path):
    doctored = copy.deepcopy(honest)
    doctored["cloud"]["validation"]["threshold"] = 0.999999
    result = result_of(doctored, model, tmp_path)
    refused(result, r"site cloud's evaluation refused: threshold differs \(signed 1.25", project)


def test_altered_counts_are_refused(honest, model, project, tmp_path):
    doctored = copy.deepcopy(honest)
    doctored["plant"]["test"]["rows"] = 81
    refused(result_of(doctored, model, tmp_path), "reported metrics and counts differ", project)


def test_a_statement_for_another_job_is_refused(identities, model, project, tmp_path):
    old = {s: signed(identities[s], model, 0.3, job="job-6") for s in SITES}
    refused(result_of(old, model, tmp_path), "job differs", project)


def test_a_statement_signed_by_another_sites_kit_is_refused(honest, identities, model, project,
                                                          tmp_path):  # fmt: skip
    as_cloud = copy.deepcopy(honest)
    as_cloud["plant"] = signed(identities["cloud"], model, 0.25)  # cloud's kit, plant's slot
    refused(result_of(as_cloud, model, tmp_path), r"certificate names \['cloud'\]", project)
    forged = copy.deepcopy(honest)  # plant's certificate, a statement signed by cloud
    forged["plant"]["attestation"]["signature"] = as_cloud["plant"]["attestation"]["signature"]
    refused(result_of(forged, model, tmp_path), "signature does not match", project)


def test_a_certificate_of_a_foreign_ca_is_refused(honest, model, project, tmp_path):
    foreign = copy.deepcopy(honest)
    foreign["cloud"] = signed(Project().identity("cloud"), model, 1.25)  # same name, own key
    refused(result_of(foreign, model, tmp_path), "not issued by this project's root CA", project)


def test_a_missing_statement_is_refused(honest, model, project, tmp_path):
    bare = copy.deepcopy(honest)
    del bare["plant"]["attestation"]
    refused(result_of(bare, model, tmp_path), "plant's evaluation refused: it carries no statement",
            project)  # fmt: skip


def test_a_statement_the_coordinator_rewrote_is_refused(honest, model, project, tmp_path):
    doctored = copy.deepcopy(honest)
    statement = json.loads(doctored["cloud"]["attestation"]["statement"])
    doctored["cloud"]["validation"]["threshold"] = statement["threshold"] = 0.999999
    doctored["cloud"]["attestation"]["statement"] = json.dumps(statement)
    refused(result_of(doctored, model, tmp_path), "signature does not match", project)


def test_a_result_without_any_evaluation_is_refused(honest, model, project, tmp_path):
    errors = {s: {"error": "no reply to the evaluation"} for s in SITES}
    refused(result_of(errors, model, tmp_path), "0 site.s. evaluated the final model", project)


def test_signing_without_a_root_ca_is_refused(honest, model, tmp_path):
    result = result_of(honest, model, tmp_path)
    with pytest.raises(DeploymentError, match="no root CA"):
        require_attested(result, JOB, None, SITES, TERMS, signing=True)
    require_attested(result, JOB, None, SITES, TERMS, signing=False)  # unsigned: none trusts it


def test_a_malformed_attestation_is_refused_by_the_coordinator(honest):
    with pytest.raises(ValueError, match="attestation must hold exactly"):
        EvaluateReply.from_wire(honest["plant"] | {"attestation": {"statement": "x"}})


def test_an_earlier_jobs_signed_evaluation_is_refused(identities, model, project, tmp_path):
    """The coordinator answers the job id: it could answer an earlier job's, whose result every
    site signed. Each job carries the admin's fresh release nonce, which each site signs back."""
    setup, params = model
    request = SimpleNamespace(
        params=params_to_wire(params), model=parse_setup(setup), target_fpr=TERMS.target_fpr
    )
    earlier, now = new_release(), new_release()
    evaluation = {s: attest(identities[s], JOB, request, reply(0.3), earlier) for s in SITES}
    result = result_of(evaluation, model, tmp_path)
    require_attested(result, JOB, project.root_pem(), SITES, TERMS, release=earlier)
    with pytest.raises(DeploymentError, match=r"release nonce \(another job's evaluation\)"):
        require_attested(result, JOB, project.root_pem(), SITES, TERMS, release=now)


def test_the_release_nonce_is_read_from_the_jobs_own_client_config(tmp_path):
    spec = JobSpec.from_scenario(load_scenario("unsw-5org-disjoint"), [], DeploymentSettings())
    config = build_job(spec, tmp_path / "job") / APP / "config" / CLIENT_CONFIG
    nonce = release_of(config)
    assert len(nonce) == 32 and job_release(tmp_path) == nonce
    other = build_job(spec, tmp_path / "other") / APP / "config" / CLIENT_CONFIG
    assert release_of(other) not in ("", nonce)  # one nonce a job
    config.write_text(json.dumps(json.loads(config.read_text()) | {RELEASE_KEY: "../x"}))
    assert release_of(config) == "" and release_of(tmp_path / "absent.json") == ""


def test_thresholds_at_a_false_positive_rate_the_admin_did_not_set_are_refused(
    identities, model, project, tmp_path
):
    """The evaluate task's target FPR is the coordinator's to send: at 0.5 each honest site
    calibrated (and signed) a threshold flagging half its benign traffic."""
    setup, params = model
    request = SimpleNamespace(
        params=params_to_wire(params), model=parse_setup(setup), target_fpr=0.5
    )
    evaluation = {s: attest(identities[s], JOB, request, reply(0.3)) for s in SITES}
    result = result_of(evaluation, model, tmp_path)
    refused(result, "target_fpr differs .signed 0.5, result 0.01.", project)


def test_a_model_a_sites_gate_refused_is_not_released(identities, model, project, tmp_path):
    setup, params = model
    request = SimpleNamespace(
        params=params_to_wire(params), model=parse_setup(setup), target_fpr=TERMS.target_fpr
    )
    gated = reply(0.3) | {"accepted": False, "gate": {"reason": "detection fell"}}
    evaluation = {"plant": attest(identities["plant"], JOB, request, gated)}
    evaluation["cloud"] = attest(identities["cloud"], JOB, request, reply(0.4))
    refused(
        result_of(evaluation, model, tmp_path), "gate of plant refused the final model", project
    )


def test_fewer_signed_evaluations_than_the_job_needs_are_refused(honest, model, project, tmp_path):
    """One colluding site's statement released a model every other site was left out of."""
    lone = {"plant": honest["plant"], "cloud": {"error": "no reply to the evaluation"}}
    result = result_of(lone, model, tmp_path)
    with pytest.raises(DeploymentError, match=r"1 site.s. evaluated .* fewer than the 2"):
        require_attested(result, JOB, project.root_pem(), SITES, ReleaseTerms(0.01, least=2))
    assert list(require_attested(result, JOB, project.root_pem(), SITES, TERMS)) == ["plant"]


def test_a_certificate_of_an_unknown_signature_algorithm_is_one_line(
    identities, model, project, tmp_path
):
    """cryptography's UnsupportedAlgorithm reached `fedsec job submit` as a traceback."""
    evaluation = {s: signed(identities[s], model, 0.25) for s in SITES}
    cert = x509.load_pem_x509_certificate(
        evaluation["plant"]["attestation"]["certificate"].encode()
    )
    der = bytearray(cert.public_bytes(Encoding.DER))
    sha256_rsa = bytes.fromhex("2a864886f70d01010b")
    at = der.rfind(sha256_rsa) + len(sha256_rsa) - 1  # the outer signatureAlgorithm's OID
    der[at] = 0x7F  # 1.2.840.113549.1.1.127: no such algorithm
    body = "\n".join(textwrap.wrap(base64.b64encode(bytes(der)).decode(), 64))
    pem = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    evaluation["plant"]["attestation"]["certificate"] = pem
    refused(result_of(evaluation, model, tmp_path), "site plant's evaluation refused", project)
