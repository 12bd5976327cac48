"""vlans-broken: the VLAN ids really differ per node (so the ping failure is the VLANs'
doing, not a dead wire: vlans-2node passes on the same topology)."""

from vmharness.kstate import expect_eq


def check(run):
    for node, cluster, storage in (("server-1", 200, 100), ("server-2", 201, 101)):
        st = run.vm(node).checkpoint("applied")
        expect_eq(st.info_data(f"eth1.{cluster}").get("id"), cluster, f"{node} cluster VLAN")
        expect_eq(st.info_data(f"eth1.{storage}").get("id"), storage, f"{node} storage VLAN")
