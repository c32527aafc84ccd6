"""The admin link: a clear error, not a traceback, when the coordinator is gone."""

import socket
import time

import pytest

pytest.importorskip("nvflare")

from fedsec.engines.nvflare.admin import CoordinatorUnreachable, Link
from fedsec.engines.nvflare.provision import Admin, FederationSpec, Identity, provision

ADMIN = "ops@consortium.org"


@pytest.fixture(scope="module")
def admin_kit(tmp_path_factory):
    """An admin kit whose coordinator port nobody listens on."""
    with socket.socket() as one, socket.socket() as two:
        one.bind(("127.0.0.1", 0))
        two.bind(("127.0.0.1", 0))
        ports = one.getsockname()[1], two.getsockname()[1]
    spec = FederationSpec(
        project="gone",
        coordinator="localhost",
        fed_learn_port=ports[0],
        admin_port=ports[1],
        sites=[Identity(name="plant", org="plant")],
        admins=[Admin(name=ADMIN, org="consortium")],
    )
    return provision(spec, tmp_path_factory.mktemp("federation")) / ADMIN


def test_an_unreachable_coordinator_ends_in_a_clear_error_after_the_grace(admin_kit, capfd):
    link = Link(admin_kit, ADMIN, grace=2.0, retry=0.2, connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(CoordinatorUnreachable, match=r"coordinator unreachable since \S+ \(more "
                       r"than 2 s\) while listing jobs: cannot connect"):  # fmt: skip
        link.call("listing jobs", lambda admin: admin.list_jobs())
    assert 2.0 <= time.monotonic() - started < 30
    printed = capfd.readouterr()
    assert "Connecting to FLARE" not in printed.out + printed.err
    assert "target_unreachable" not in printed.out + printed.err
