"""cable-pull: bond state before, during and after the pull, read from the kernel."""

from vmharness.kstate import expect_eq

ACCEPT_MS = {"failover_ms": 1000, "failback_ms": 2000}  # n3x's acceptance numbers


def check(run):
    for cp, active, eth1_mii in (("before", "eth1", "up"), ("pulled", "eth2", "down"),
                                 ("restored", "eth1", "up")):
        st = run.checkpoint(cp)
        bond = st.bond("bond0")
        expect_eq(bond.mii_status, "up", f"{cp}: bond0 MII status")
        expect_eq(bond.active_slave, active, f"{cp}: active slave")
        expect_eq(bond.slaves["eth1"]["MII Status"], eth1_mii, f"{cp}: eth1 MII status")
        expect_eq(bond.slaves["eth2"]["MII Status"], "up", f"{cp}: eth2 MII status")
        expect_eq(st.link("bond0")["operstate"], "UP", f"{cp}: bond0 operstate")
        expect_eq(st.addrs("bond0.200"), ["192.168.200.1/24"], f"{cp}: bond0.200 IPv4")
    expect_eq(run.checkpoint("pulled").bond("bond0").slaves["eth1"]["Link Failure Count"],
              "1", "eth1 link failures after one pull")
    for name, limit in ACCEPT_MS.items():
        got = int(run.metrics[name])
        if got > limit:
            raise AssertionError(f"{name} {got} ms > {limit} ms")
