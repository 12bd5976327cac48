"""vlans-2node: each node has exactly its own addresses on eth1.200 / eth1.100; then the
Multus host shims (iv-stor: ipvlan l2 on eth1.100, iv-l3: ipvlan l3 on eth1.200) with the
node's own address, and the route to the other node's l3 pod slice."""

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
        expect_eq(st.kind("iv-l3"), "ipvlan", f"{node} iv-l3")
        expect_eq(st.info_data("iv-l3").get("mode"), "l3", f"{node} iv-l3 mode")
        expect_eq(st.link("iv-l3").get("link"), "eth1.200", f"{node} iv-l3 master")
        expect_eq(st.addrs("iv-l3"), [f"192.168.60.{index}/24"], f"{node} iv-l3 IPv4")
        other = 3 - index
        slice_ = f"192.168.60.{16 + 4 * other}/30"
        expect(st.routes(dst=slice_, gateway=f"192.168.200.{other}", dev="eth1.200"),
               f"{node}: no route {slice_} via 192.168.200.{other}")
