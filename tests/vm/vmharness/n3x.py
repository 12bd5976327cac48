"""What n3x's own tests assert about a node (shared/notes/n3x-reference.md), on a
checkpoint's kernel state. Shared by the iproute2 reference scenario (smoke) and the
n3xnetctl ones: both must produce the same kernel state."""

from .kstate import expect, expect_eq

# bonding-vlans: (VLAN link, VLAN id, /24 network, role)
BONDING_VLANS = (("bond0.200", 200, "192.168.200", "cluster"),
                 ("bond0.100", 100, "192.168.100", "storage"))


def bonding_vlans(st, node_index, active="eth1"):
    """bonding-vlans on node NODE_INDEX (server-1 = 1): bond0 = eth1+eth2 active-backup,
    primary eth1, miimon 100; bond0.200 cluster and bond0.100 storage VLANs with exactly
    the node's address each and the kernel prefix routes."""
    bond = st.bond("bond0")
    expect_eq(bond.mode, "fault-tolerance (active-backup)", f"{st.label}: bond0 mode")
    expect_eq(bond.mii_status, "up", f"{st.label}: bond0 MII status")
    expect_eq(bond.active_slave, active, f"{st.label}: bond0 active slave")
    expect_eq(bond.info.get("Primary Slave"), "eth1 (primary_reselect always)",
              f"{st.label}: bond0 primary")
    expect_eq(bond.info.get("MII Polling Interval (ms)"), "100", f"{st.label}: miimon")
    expect_eq(sorted(bond.slaves), ["eth1", "eth2"], f"{st.label}: bond0 slaves")
    flags = st.link("bond0")["flags"]
    expect("MASTER" in flags and "UP" in flags, f"{st.label}: bond0 flags {flags}")
    for port in ("eth1", "eth2"):
        expect_eq(bond.slaves[port].get("MII Status"), "up", f"{st.label}: {port} MII")
        expect_eq(st.link(port).get("master"), "bond0", f"{st.label}: {port} master")
    for vlan, vid, net, role in BONDING_VLANS:
        expect_eq(st.kind(vlan), "vlan", f"{st.label}: {vlan} kind")
        data = st.info_data(vlan)
        expect_eq((data.get("protocol"), data.get("id")), ("802.1Q", vid),
                  f"{st.label}: {vlan} VLAN")
        expect_eq(st.link(vlan).get("link"), "bond0", f"{st.label}: {vlan} parent")
        # Exactly one IPv4, the node's own: the other role's address never lands here.
        expect_eq(st.addrs(vlan), [f"{net}.{node_index}/24"], f"{st.label}: {role} IPv4")
        expect(st.routes(dst=f"{net}.0/24", dev=vlan),
               f"{st.label}: no kernel prefix route {net}.0/24 dev {vlan}")
