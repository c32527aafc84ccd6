"""The loopback federation is provisioned like a real one: its private keys stay private."""

import os
import socket
import stat

import pytest

pytest.importorskip("nvflare")

from fedsec.engines.nvflare import poc


def test_a_loopback_federation_keeps_every_private_key_0600(tmp_path):
    fed = poc.prepare(tmp_path / "poc", ["site-1", "site-2"], homomorphic_encryption=True)
    project = fed.kit(poc.SERVER).parents[1]
    private = [
        project / "state" / "cert.json",
        *(fed.kit(n) / "startup" / "client.key" for n in fed.sites),
        *(fed.kit(n) / "startup" / "client_context.tenseal" for n in fed.sites),
        fed.kit(poc.SERVER) / "startup" / "server.key",
        fed.admin_kit / "startup" / "client.key",
    ]
    assert {str(p): stat.S_IMODE(os.stat(p).st_mode) for p in private} == dict.fromkeys(
        map(str, private), 0o600
    )
    assert stat.S_IMODE(os.stat(project / "state").st_mode) == 0o700


def test_a_port_taken_by_another_process_is_named_before_the_coordinator_starts(tmp_path):
    """restart-coordinator with its port squatted waited ~100 s, then said the coordinator was
    unreachable: the squatter had answered the start-up probe."""
    fed = poc.prepare(tmp_path / "poc", ["site-1"])
    try:
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", fed.ports["admin"]))
            squatter.listen()
            taken = rf"port {fed.ports['admin']} on 127.0.0.1 .* in use by another process"
            with pytest.raises(poc.PocError, match=taken):
                poc.restart_coordinator(fed, timeout=5)
        assert poc.SERVER not in fed.pids  # nothing was started
    finally:
        poc.stop(fed)  # by PID, should anything have started
