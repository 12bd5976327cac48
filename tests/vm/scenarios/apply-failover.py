"""apply-failover: the n3xnetctl-built bond fails over and back within n3x's limits; the
Multus host shim mv-storage sits on bond0.100 throughout."""

from vmharness import n3x
from vmharness.kstate import expect_eq


def check(run):
    pulled = run.checkpoint("pulled")
    expect_eq(pulled.bond("bond0").mii_status, "up", "bond0 MII status while eth1 is out")
    expect_eq(pulled.bond("bond0").slaves["eth1"]["MII Status"], "down", "eth1 MII (pulled)")
    restored = run.checkpoint("restored")
    n3x.bonding_vlans(restored, node_index=1)
    for st in (pulled, restored):
        expect_eq(st.kind("mv-storage"), "macvlan", f"{st.label} mv-storage")
        expect_eq(st.link("mv-storage").get("link"), "bond0.100", f"{st.label} shim master")
        expect_eq(st.addrs("mv-storage"), ["192.168.20.1/24"], f"{st.label} shim IPv4")
    expect_eq(run.file("check").json()["inSync"], True, "check after failback")
    for name, limit in (("failover_ms", 1000), ("failback_ms", 2000)):
        if int(run.metrics[name]) > limit:
            raise AssertionError(f"{name} {run.metrics[name]} ms > {limit} ms")
