"""The loopback federated server (which XGBoost binds on every interface) speaks mutual TLS
with the run's own certificates: a client without the run's certificate gets nothing."""

import multiprocessing
import socket
import ssl

import pytest

pytest.importorskip("xgboost", reason="the trees extra is not installed")

from fedsec.engines import xgb_federated
from fedsec.engines.loopback_tls import make_loopback_tls

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The federated server of a run, as the engine starts it, and that run's files."""
    tls = make_loopback_tls(tmp_path_factory.mktemp("tls"))
    port = xgb_federated.free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=xgb_federated._serve, args=(2, port, tls), daemon=True
    )
    process.start()
    try:
        xgb_federated._wait_listening(port, process, 60)
        yield port, tls
    finally:
        process.kill()
        process.join()


def _first_bytes(port: int, context: ssl.SSLContext) -> bytes:
    """What the server answers an HTTP/2 client (gRPC's transport) over ``context``."""
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls_socket,
    ):
        tls_socket.sendall(HTTP2_PREFACE)
        return tls_socket.recv(64)


def test_a_client_with_the_runs_certificate_is_answered(server):
    port, tls = server
    context = ssl.create_default_context(cafile=tls.authority)
    context.load_cert_chain(tls.client_cert, tls.client_key)
    answer = _first_bytes(port, context)
    assert answer[3] == 0x04  # an HTTP/2 SETTINGS frame: the gRPC server speaks to it


def test_a_client_without_the_runs_certificate_gets_nothing(server):
    port, tls = server
    context = ssl.create_default_context(cafile=tls.authority)  # trusts the server, has no cert
    with pytest.raises((ssl.SSLError, ConnectionError)):
        answer = _first_bytes(port, context)
        if not answer:
            raise ConnectionError("closed without an answer")


def test_a_client_with_another_runs_certificate_gets_nothing(server, tmp_path):
    port, tls = server
    other = make_loopback_tls(tmp_path)
    context = ssl.create_default_context(cafile=tls.authority)
    context.load_cert_chain(other.client_cert, other.client_key)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        answer = _first_bytes(port, context)
        if not answer:
            raise ConnectionError("closed without an answer")


def test_a_plaintext_client_gets_nothing(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(HTTP2_PREFACE)
        raw.settimeout(5)
        try:
            answer = raw.recv(64)
        except (ConnectionError, TimeoutError):
            answer = b""
    assert not answer.startswith(b"\x00\x00") or answer[3] != 0x04  # no HTTP/2 SETTINGS


def test_the_runs_private_keys_are_readable_by_their_owner_only(tmp_path):
    tls = make_loopback_tls(tmp_path)
    assert tmp_path.stat().st_mode & 0o077 == 0
    assert tls.client_key.stat().st_mode & 0o077 == 0
    assert tls.server_key.stat().st_mode & 0o077 == 0
