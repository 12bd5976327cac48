"""systemd-networkd-diff: the kernel state systemd-networkd makes from `n3xnetctl render
networkd` equals the one n3xnetd applies, for bonding-vlans (checkpoint online) and then
dual-stack (checkpoint dual-stack), after normalizing what must differ between two VMs or
two runs:

- ifindex: allocation order (networkd and n3xnetd create links in different orders);
- MAC addresses: the harness gives each VM its own NIC MACs (52:54:00:4e:<vm>:<nic>);
  each is replaced by the NIC it belongs to, so "bond0 has eth1's MAC" still compares;
- address lifetimes (count down) — static addresses are "forever" on both anyway;
- `ifalias` "n3xnet" and `group` 28211 (compared as the default group): n3xnetd's ownership
  marks on the links it creates (by design);
- the bond's MAC: a known difference, checked as such. networkd waits for udev, whose
  99-default.link (MACAddressPolicy=persistent) gives bond0 a MAC hashed from the
  machine id before networkd enslaves the ports, so bond0, its VLANs and (active-backup)
  its ports carry that MAC and eth1 shows a `permaddr`; n3xnetd enslaves at once and
  bond0 takes eth1's MAC (n3x's semantics, asserted by apply.py). The rendered files do
  not pin it (`MACAddress=` needs the NIC's MAC; `MACAddressPolicy=none` needs a .link).
  Each side's bond MAC is replaced by "<bond0 mac>" and `permaddr` dropped, after
  checking that on the networkd side it is the one MAC all five links share.

- a route's `protocol`: n3xnetd marks the routes it adds with rtm_protocol 110, its
  ownership mark (by design), where networkd's are `static`; n3xnetd's 110 is compared as
  `static` (the gateways and dual-stack's fd00:50::/48 route).

Nothing more for dual-stack: both keep `addr_gen_mode none` and put the profile's
link-local fe80::1/64 on bond0.200; n3xnetd's IFA_PROTO mark on its addresses (by design)
would differ, but the guest's iproute2 6.1 does not print it (a later iproute2 that
does would need its `protocol` normalized here).

Everything else (link kinds, flags, operstate, MTU, qdisc, bond and VLAN options, port
state, addresses, IPv4/IPv6 routes of every table) must be equal; every difference is
listed in the failure."""

import json
import re

from vmharness import n3x
from vmharness.kstate import expect, expect_eq

VM_INDEX = {"networkd": 1, "n3xnetd": 2}
# bonding-vlans, then dual-stack (the same boot): bond0.200's IPv6 addresses at each.
CLUSTER_IPV6 = {"online": [], "dual-stack": ["fd00:200::1/64", "fe80::1/64"]}
CHECKPOINTS = tuple(CLUSTER_IPV6)
LINKS = ("lo", "eth0", "eth1", "eth2", "bond0", "bond0.100", "bond0.200")
MAC_RE = re.compile(r"52:54:00:4e:([0-9a-f]{2}):([0-9a-f]{2})")
DROP = {"ifindex", "link_index", "valid_life_time", "preferred_life_time"}


def normalize(obj, vm):
    if isinstance(obj, dict):
        return {k: normalize(v, vm) for k, v in obj.items() if k not in DROP}
    if isinstance(obj, list):
        return [normalize(v, vm) for v in obj]
    if isinstance(obj, str):
        def nic(m):
            if int(m.group(1), 16) != VM_INDEX[vm]:
                return f"<MAC of another VM: {m.group(0)}>"
            return f"<mac eth{int(m.group(2), 16)}>"
        return MAC_RE.sub(nic, obj)
    return obj


OWNED_MARK = "n3xnet"
OWNED_GROUP = "28211"
OWNED_PROTOCOL = "110"
BONDED = ("eth1", "eth2", "bond0", "bond0.100", "bond0.200")


def bond_mac_neutral(entry, bond_mac):
    e = {k: v for k, v in entry.items()
         if k != "permaddr" and not (k == "ifalias" and v == OWNED_MARK)}
    if e.get("group") == OWNED_GROUP:
        e["group"] = "default"
    if e.get("address") == bond_mac:
        e["address"] = "<bond0 mac>"
    return e


def route_owner_neutral(route, vm):
    if vm == "n3xnetd" and route.get("protocol") == OWNED_PROTOCOL:
        return {**route, "protocol": "static"}
    return route


def view(run, vm, cp):
    st = run.vm(vm).checkpoint(cp)
    bond_mac = st.link("bond0")["address"]
    links = {e["ifname"]: normalize(bond_mac_neutral(e, bond_mac), vm)
             for e in st.links if e["ifname"] in LINKS}
    addrs = {e["ifname"]: normalize(bond_mac_neutral(e, bond_mac), vm)
             for e in st.addr if e["ifname"] in LINKS}
    routes = sorted(json.dumps(normalize(route_owner_neutral(r, vm), vm), sort_keys=True)
                    for r in st.routes4 + st.routes6)
    return st, {"link": links, "addr": addrs, "route": routes}


def check(run):
    for cp in CHECKPOINTS:
        compare(run, cp)


def compare(run, cp):
    nd_state, nd = view(run, "networkd", cp)
    n3_state, n3 = view(run, "n3xnetd", cp)
    n3x.bonding_vlans(n3_state, node_index=1)
    expect_eq(n3_state.addrs("bond0.200", "inet6"), CLUSTER_IPV6[cp],
              f"n3xnetd: bond0.200 IPv6 at {cp}")
    expect_eq(n3_state.link("bond0")["address"], n3_state.link("eth1")["address"],
              "n3xnetd: bond0 has eth1's MAC")
    nd_mac = nd_state.link("bond0")["address"]
    expect_eq({name: nd_state.link(name)["address"] for name in BONDED},
              {name: nd_mac for name in BONDED}, "networkd: one MAC on the bond and its links")
    expect(sorted(nd["link"]) == sorted(LINKS), f"networkd VM links: {sorted(nd['link'])}")
    diffs = []
    for what in ("link", "addr"):
        n3x._diff_by_name(diffs, what, nd[what], n3[what])
    diffs += [f"route only with networkd: {r}" for r in sorted(set(nd["route"]) - set(n3["route"]))]
    diffs += [f"route only with n3xnetd: {r}" for r in sorted(set(n3["route"]) - set(nd["route"]))]
    expect(not diffs, f"{cp}: networkd (left) and n3xnetd (right) differ:\n  "
           + "\n  ".join(diffs))
