"""smoke: the iproute2-built bond + VLAN is what n3x's tests expect to see."""

from vmharness.kstate import expect, expect_eq


def check(run):
    st = run.checkpoint("configured")
    bond = st.bond("bond0")
    expect_eq(bond.mode, "fault-tolerance (active-backup)", "bond0 mode")
    expect_eq(bond.mii_status, "up", "bond0 MII status")
    expect_eq(bond.active_slave, "eth1", "bond0 active slave")
    expect_eq(bond.info.get("Primary Slave"), "eth1 (primary_reselect always)", "primary")
    expect_eq(bond.info.get("MII Polling Interval (ms)"), "100", "miimon")
    expect_eq(sorted(bond.slaves), ["eth1", "eth2"], "bond0 slaves")
    for s in ("eth1", "eth2"):
        expect_eq(bond.slaves[s].get("MII Status"), "up", f"{s} MII status")
        expect_eq(st.link(s).get("master"), "bond0", f"{s} master")
    expect("MASTER" in st.link("bond0")["flags"] and "UP" in st.link("bond0")["flags"],
           f"bond0 flags {st.link('bond0')['flags']}: want MASTER and UP")
    expect_eq(st.kind("bond0.200"), "vlan", "bond0.200 kind")
    data = st.info_data("bond0.200")
    expect_eq((data.get("protocol"), data.get("id")), ("802.1Q", 200), "bond0.200 VLAN")
    expect_eq(st.link("bond0.200").get("link"), "bond0", "bond0.200 parent")
    expect_eq(st.addrs("bond0.200"), ["192.168.200.1/24"], "bond0.200 IPv4")
    expect(st.routes(dst="192.168.200.0/24", dev="bond0.200"),
           "no kernel prefix route 192.168.200.0/24 dev bond0.200")
