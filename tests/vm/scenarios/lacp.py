"""lacp: both bonds aggregated both ports with each other."""

from vmharness.kstate import expect_eq


def check(run):
    bonds = {vm: run.vm(vm).checkpoint("aggregated").bond("bond0") for vm in ("a", "b")}
    macs = {vm: run.vm(vm).checkpoint("aggregated").link("bond0")["address"] for vm in bonds}
    for vm, bond in bonds.items():
        other = "b" if vm == "a" else "a"
        expect_eq(bond.mode, "IEEE 802.3ad Dynamic link aggregation", f"{vm}: bond0 mode")
        expect_eq(bond.info.get("LACP rate"), "fast", f"{vm}: LACP rate")
        expect_eq(bond.info.get("Active Aggregator Info/Number of ports"), "2",
                  f"{vm}: ports in the active aggregator")
        expect_eq(bond.info.get("Active Aggregator Info/Partner Mac Address"), macs[other],
                  f"{vm}: partner system")
        agg = {bond.slaves[p]["Aggregator ID"] for p in ("eth1", "eth2")}
        expect_eq(len(agg), 1, f"{vm}: eth1 and eth2 in one aggregator (ids {agg})")
        for port in ("eth1", "eth2"):
            for who in ("actor", "partner"):
                expect_eq(bond.port_state(port, who), 63, f"{vm}: {port} {who} port state")
