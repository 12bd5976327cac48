"""cable-pull-dual-stack: the failover of cable-pull on n3xnetctl's dual-stack bond; the
cluster VLAN keeps its IPv6 and link-local addresses, DAD done (not tentative, not
failed, not switched off), at every checkpoint; check in sync after the failback."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq

IPV6 = ["fd00:200::1/64", "fe80::1/64"]


def check(run):
    n3x.cable_pull(run)
    n3x.bonding_vlans(run.checkpoint("restored"), node_index=1)
    for cp in ("before", "pulled", "restored"):
        st = run.checkpoint(cp)
        expect_eq(st.addrs("bond0.200", "inet6"), IPV6, f"{cp}: bond0.200 IPv6")
        for a in st.addr_info("bond0.200", "inet6"):
            flags = sorted(f for f in ("tentative", "dadfailed", "nodad") if a.get(f))
            expect(not flags, f"{cp}: {a['local']} flags {flags}")
    expect_eq(run.file("check").json()["inSync"], True, "check after the failback")
