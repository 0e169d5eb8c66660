"""Why vial has its own Kubo client: ``ipfshttpclient`` 0.7.0 refuses every Kubo from 0.8 on.

Kept as a test so the decision in docs/decisions.md stays checked against the Kubo vial pins.
"""

from __future__ import annotations

import pytest


@pytest.mark.filterwarnings("ignore::FutureWarning")  # urllib3 warns about ipfshttpclient's old arguments
def test_ipfshttpclient_refuses_current_kubo(kubo_factory) -> None:
    ipfshttpclient = pytest.importorskip("ipfshttpclient")
    node = kubo_factory("unixfs-v1-2025")
    port = node.url.rsplit(":", 1)[1]
    with pytest.raises(ipfshttpclient.exceptions.VersionMismatch) as caught:
        ipfshttpclient.connect(f"/ip4/127.0.0.1/tcp/{port}/http")
    assert "0.41.0" in str(caught.value)
