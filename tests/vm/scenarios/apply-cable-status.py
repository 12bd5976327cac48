"""apply-cable-status: status --json follows a cable pull and its repair, as the kernel."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq

ACCEPT_MS = {"failover_ms": 1000, "failback_ms": 2000}  # n3x's acceptance numbers


def check(run):
    for name, limit in ACCEPT_MS.items():
        got = int(run.metrics[name])
        expect(got <= limit, f"{name} {got} ms > {limit} ms")
    # (status, checkpoint of the same moment or None, active port, eth1 up?, eth1 failures)
    for cap, cp, active, eth1_up, failures in (("status-before", None, "eth1", True, 0),
                                              ("status-pulled", "pulled", "eth2", False, 1),
                                              ("status-restored", "restored", "eth1", True, 1)):
        status = run.file(cap).json()
        bond = n3x.status_link(status, "bond0")
        expect_eq((bond["carrier"], bond["operstate"], bond["info"]["activePort"]),
                  (True, "up", active), f"{cap}: bond0 carrier/operstate/activePort")
        eth1 = n3x.status_link(status, "eth1")
        expect_eq((eth1["carrier"], eth1["master"], eth1["bondPort"]["miiStatus"],
                   eth1["bondPort"]["linkFailureCount"]),
                  (eth1_up, "bond0", "up" if eth1_up else "down", failures),
                  f"{cap}: eth1 carrier/master/miiStatus/linkFailureCount")
        eth2 = n3x.status_link(status, "eth2")
        expect_eq((eth2["carrier"], eth2["bondPort"]["miiStatus"]), (True, "up"),
                  f"{cap}: eth2 carrier/miiStatus")
        if cp is None:
            continue
        st = run.checkpoint(cp)
        proc = st.bond("bond0")
        expect_eq(proc.active_slave, active, f"{cp}: /proc active slave")
        for port in ("eth1", "eth2"):
            link = n3x.status_link(status, port)
            expect_eq(link["bondPort"]["miiStatus"], proc.slaves[port]["MII Status"],
                      f"{cap}: {port} miiStatus vs /proc/net/bonding")
            expect_eq(link["bondPort"]["linkFailureCount"],
                      int(proc.slaves[port]["Link Failure Count"]),
                      f"{cap}: {port} linkFailureCount vs /proc/net/bonding")
            expect_eq(link["carrier"], "LOWER_UP" in st.link(port)["flags"],
                      f"{cap}: {port} carrier vs ip link")
