"""Certificate signatures of bundles: the admin's certificate must chain to a trusted root CA,
be valid now and carry a role allowed to sign (a synthetic project, like NVFlare's)."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from fedsec.bundles.bundle import load_bundle, save_bundle
from fedsec.bundles.keys import user_trust
from fedsec.bundles.signing import CertificateSigner
from fedsec.core.errors import BundleError
from tests.bundles.forging import small_classifier

PEM = serialization.Encoding.PEM


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(name, key, issuer, issuer_key, ca=False, role=None, days=(-1, 1)):
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if role:
        subject.append(x509.NameAttribute(NameOID.UNSTRUCTURED_NAME, role))
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=days[0]))
        .not_valid_after(now + timedelta(days=days[1]))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ca")
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "consortium")])
    root = _cert("consortium", key, name, key, ca=True)
    (folder / "rootCA.pem").write_bytes(root.public_bytes(PEM))
    return root, key, folder / "rootCA.pem"


def _bundle(tmp_path, signer):
    model, _ = small_classifier()
    return save_bundle(tmp_path / "b", model, {}, signer)


def test_an_admin_certificate_chained_to_a_trusted_root_signs(project, tmp_path):
    root, root_key, pem = project
    key = _key()
    admin = _cert("ops", key, root.subject, root_key, role="project_admin")
    bundle = _bundle(tmp_path, CertificateSigner(key, (admin.public_bytes(PEM),)))
    assert load_bundle(bundle, user_trust([pem]))[0].classes == ["benign", "dos", "recon"]


def test_an_intermediate_ca_may_sit_in_the_chain(project, tmp_path):
    root, root_key, pem = project
    middle_key, key = _key(), _key()
    middle = _cert("region", middle_key, root.subject, root_key, ca=True)
    admin = _cert("ops", key, middle.subject, middle_key, role="lead")
    chain = (admin.public_bytes(PEM), middle.public_bytes(PEM))
    assert load_bundle(_bundle(tmp_path, CertificateSigner(key, chain)), user_trust([pem]))


def test_a_leaf_posing_as_an_intermediate_is_refused(project, tmp_path):
    root, root_key, pem = project
    site_key, key = _key(), _key()
    site = _cert("plant", site_key, root.subject, root_key)  # not a CA
    admin = _cert("ops", key, site.subject, site_key, role="project_admin")
    chain = (admin.public_bytes(PEM), site.public_bytes(PEM))
    with pytest.raises(BundleError, match="signature does not verify"):
        load_bundle(_bundle(tmp_path, CertificateSigner(key, chain)), user_trust([pem]))


def test_an_expired_admin_certificate_is_refused(project, tmp_path):
    root, root_key, pem = project
    key = _key()
    admin = _cert("ops", key, root.subject, root_key, role="project_admin", days=(-400, -35))
    bundle = _bundle(tmp_path, CertificateSigner(key, (admin.public_bytes(PEM),)))
    with pytest.raises(BundleError, match="certificate of ops is not valid now"):
        load_bundle(bundle, user_trust([pem]))


def test_a_certificate_the_root_did_not_sign_is_refused(project, tmp_path):
    root, _, pem = project
    key, impostor = _key(), _key()
    admin = _cert("ops", key, root.subject, impostor, role="project_admin")  # same issuer name
    bundle = _bundle(tmp_path, CertificateSigner(key, (admin.public_bytes(PEM),)))
    with pytest.raises(BundleError, match="consortium did not sign ops's certificate"):
        load_bundle(bundle, user_trust([pem]))
