"""Endorsed secure-aggregation keys: a relaying coordinator cannot substitute a site's keys."""

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding

from fedsec.bundles.bundle import authenticate, load_bundle, load_manifest, save_bundle
from fedsec.bundles.keys import user_trust
from fedsec.bundles.signing import CertificateSigner
from fedsec.core.errors import BundleError
from fedsec.core.keyfiles import ExposedSecretError
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.identity import kit_signer
from fedsec.engines.nvflare.plan import DeploymentSettings, JobSpec, PlanRefused
from fedsec.engines.nvflare.records import Refusal
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import config_from_scenario
from fedsec.fl.privacy.secagg import SecAggClient
from tests.engines.nvflare.kits import Project


def test_endorsed_keys_verify_and_tampering_is_refused(project):
    alice, bob = project.identity("alice"), project.identity("bob")
    advert = SecAggClient("alice", 3).advertise()
    endorsement = alice.endorse("job-1", 3, advert)
    bob.check("job-1", 3, advert, endorsement)
    forged = replace(advert, mask_public=bytes(32))
    with pytest.raises(PlanRefused, match="signature does not match"):
        bob.check("job-1", 3, forged, endorsement)
    with pytest.raises(PlanRefused, match="signature does not match"):
        bob.check("job-2", 3, advert, endorsement)  # replayed into another job
    with pytest.raises(PlanRefused, match="not endorsed"):
        bob.check("job-1", 3, advert, None)


def test_a_certificate_from_another_ca_or_for_another_name_is_refused(project):
    bob = project.identity("bob")
    advert = SecAggClient("alice", 1).advertise()
    foreign = Project("project").identity("alice")  # same names, another root key
    with pytest.raises(PlanRefused, match="not issued by this project"):
        bob.check("job", 1, advert, foreign.endorse("job", 1, advert))
    mallory = project.identity("mallory")
    with pytest.raises(PlanRefused, match="certificate names"):
        bob.check("job", 1, advert, mallory.endorse("job", 1, advert))
    coordinator = project.identity("localhost")
    as_coordinator = replace(advert, sender="localhost")
    with pytest.raises(PlanRefused, match="coordinator's identity takes no part"):
        bob.check("job", 1, as_coordinator, coordinator.endorse("job", 1, as_coordinator))


def test_a_coordinator_substituting_keys_is_refused_by_the_sites(project, consortium):
    data, scenario = consortium
    secure = scenario.model_copy(
        update={"privacy": scenario.privacy.model_copy(update={"secure_aggregation": True})}
    )
    names = secure.org_names()
    keys = {n: project.identity(n) for n in names}

    def new_sites(job):  # one Site per job, as each job's executor builds
        return {
            n: Site(config_from_scenario(secure, n, data), data, keys=keys[n], job=job)
            for n in names
        }

    attacker = SecAggClient("plant", 1)  # the coordinator's own keys, posing as plant

    class Honest:
        def __init__(self, job):
            self.sites = new_sites(job)

        def exchange(self, task, data, targets, timeout):
            replies = {}
            for name in targets:
                try:
                    replies[name] = self.sites[name].handle(task, data)
                except PlanRefused as error:
                    replies[name] = Refusal(error)
            return replies

    class Substituting(Honest):
        def exchange(self, task, data, targets, timeout):
            if task == "fedsec_secagg_share":
                for entry in data["roster"]:
                    if entry["advertisement"]["sender"] == "plant":
                        keys = attacker.advertise()
                        entry["advertisement"]["cipher_public"] = keys.cipher_public
            return super().exchange(task, data, targets, timeout)

    spec = JobSpec.from_scenario(secure, [], DeploymentSettings(site_order=names, min_sites=2))
    assert Coordinator(spec, Honest("j1"), names).run().error is None
    result = Coordinator(spec, Substituting("j2"), names).run()
    assert result.error is not None
    for site in ("cloud", "office"):
        assert (
            "advertisement of 'plant' refused: signature does not match" in (result.dropouts[site])
        )


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    """Two NVFlare projects: a bundle's reader trusts the first one's root CA."""
    pytest.importorskip("nvflare")
    from fedsec.engines.nvflare.provision import Admin, FederationSpec, Identity, provision

    def project(name: str) -> Path:
        spec = FederationSpec(
            project=name,
            coordinator="localhost",
            sites=[Identity(name="plant", org="acme")],
            admins=[
                Admin(name="ops@consortium.org", org="consortium"),
                Admin(name="soc@acme.org", org="acme", role="member"),
            ],
        )
        return provision(spec, tmp_path_factory.mktemp(name))

    return project("consortium"), project("elsewhere")


def _signed_bundle(directory: Path, signer) -> Path:
    from tests.bundles.forging import small_classifier

    model, _ = small_classifier()
    return save_bundle(directory, model, {"engine": "nvflare"}, signer)


def test_a_deployed_bundle_verifies_against_the_projects_root_ca(federation, tmp_path):
    kits, _ = federation
    bundle = _signed_bundle(tmp_path / "b", kit_signer(kits / "ops@consortium.org"))
    trust = user_trust([kits / "plant" / "startup" / "rootCA.pem"])
    model, _ = load_bundle(bundle, trust)
    assert model.classes == ["benign", "dos", "recon"]
    found = authenticate(bundle, load_manifest(bundle), trust)
    assert found.trusted and "admin 'ops@consortium.org' (project_admin)" in found.signer


def test_a_deployed_bundle_is_refused_without_its_projects_ca(federation, tmp_path):
    kits, elsewhere = federation
    bundle = _signed_bundle(tmp_path / "b", kit_signer(kits / "ops@consortium.org"))
    with pytest.raises(BundleError, match="you trust no federation root CA") as refused:
        load_bundle(bundle)
    assert "startup/rootCA.pem" in str(refused.value)
    other = user_trust([elsewhere / "plant" / "startup" / "rootCA.pem"])
    with pytest.raises(BundleError, match="was not issued by elsewhere"):
        load_bundle(bundle, other)


@pytest.mark.parametrize("signer", ["plant", "localhost", "soc@acme.org"])
def test_only_a_project_admin_may_sign_a_bundle(federation, tmp_path, signer):
    """A site's key, the coordinator's key and a member admin's key chain to the CA but are
    not allowed to vouch for a model."""
    kits, _ = federation
    startup = kits / signer / "startup"
    key_file = next(startup.glob("*.key"))
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    cert = next(p for p in startup.glob("*.crt"))
    bundle = _signed_bundle(tmp_path / "b", CertificateSigner(key, (cert.read_bytes(),)))
    trust = user_trust([kits / "plant" / "startup" / "rootCA.pem"])
    with pytest.raises(BundleError, match="only a project admin may sign bundles"):
        load_bundle(bundle, trust)


def test_a_certificate_swapped_into_the_signature_is_refused(federation, tmp_path):
    kits, _ = federation
    bundle = _signed_bundle(tmp_path / "b", kit_signer(kits / "ops@consortium.org"))
    path = bundle / "bundle.sig"
    block = json.loads(path.read_text())
    block["certificates"] = [(kits / "soc@acme.org" / "startup" / "client.crt").read_text()]
    path.write_text(json.dumps(block))
    trust = user_trust([kits / "plant" / "startup" / "rootCA.pem"])
    with pytest.raises(BundleError, match="signature does not verify"):
        load_bundle(bundle, trust)


def test_an_exposed_admin_key_signs_nothing(federation, tmp_path):
    kits, _ = federation
    key = kits / "ops@consortium.org" / "startup" / "client.key"
    os.chmod(key, 0o640)
    try:
        with pytest.raises(ExposedSecretError, match="chmod 600"):
            kit_signer(kits / "ops@consortium.org")
    finally:
        os.chmod(key, 0o600)


def test_a_peer_certificate_of_an_unknown_signature_algorithm_is_refused(project):
    """cryptography's UnsupportedAlgorithm reached the site as a traceback."""
    bob = project.identity("bob")
    advert = SecAggClient("alice", 1).advertise()
    endorsement = project.identity("alice").endorse("job", 1, advert)
    cert = x509.load_pem_x509_certificate(endorsement["certificate"])
    der = bytearray(cert.public_bytes(Encoding.DER))
    sha256_rsa = bytes.fromhex("2a864886f70d01010b")
    at = der.rfind(sha256_rsa) + len(sha256_rsa) - 1  # the outer signatureAlgorithm's OID
    der[at] = 0x7F  # 1.2.840.113549.1.1.127: no such algorithm
    pem = x509.load_der_x509_certificate(bytes(der)).public_bytes(Encoding.PEM)
    with pytest.raises(PlanRefused, match="not issued by this project's root CA"):
        bob.check("job", 1, advert, endorsement | {"certificate": pem})
