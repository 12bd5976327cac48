"""vlans-2node: each node has exactly its own addresses on eth1.200 / eth1.100; then the
Multus host shim iv-stor, an ipvlan l2 on eth1.100 with the node's own address."""

from vmharness.kstate import expect, expect_eq


def check(run):
    for index, node in ((1, "server-1"), (2, "server-2")):
        st = run.vm(node).checkpoint("applied")
        for vlan, vid, net in (("eth1.200", 200, "192.168.200"), ("eth1.100", 100, "192.168.100")):
            data = st.info_data(vlan)
            expect_eq((data.get("protocol"), data.get("id")), ("802.1Q", vid), f"{node} {vlan}")
            expect_eq(st.link(vlan).get("link"), "eth1", f"{node} {vlan} parent")
            expect_eq(st.addrs(vlan), [f"{net}.{index}/24"], f"{node} {vlan} IPv4")
            expect(st.routes(dst=f"{net}.0/24", dev=vlan), f"{node}: no route {net}.0/24")
        expect_eq(run.vm(node).file("apply").json()["outcome"], "applied", f"{node} apply")
        st = run.vm(node).checkpoint("multus-pods")
        expect_eq(st.kind("iv-stor"), "ipvlan", f"{node} iv-stor")
        expect_eq(st.info_data("iv-stor").get("mode"), "l2", f"{node} iv-stor mode")
        expect_eq(st.link("iv-stor").get("link"), "eth1.100", f"{node} iv-stor master")
        expect_eq(st.addrs("iv-stor"), [f"192.168.40.{index}/24"], f"{node} iv-stor IPv4")
