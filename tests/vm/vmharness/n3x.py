"""What n3x's own tests assert about a node (shared/notes/n3x-reference.md), on a
checkpoint's kernel state. Shared by the iproute2 reference scenario (smoke) and the
n3xnetctl ones: both must produce the same kernel state."""

import json

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



# n3x's failover acceptance numbers.
FAILOVER_MS = {"failover_ms": 1000, "failback_ms": 2000}


def cable_pull(run):
    """The checkpoints and metrics of scenarios/lib/cable-pull.sh: bond0 up with its
    cluster IPv4 on bond0.200 before, during (eth2 active, eth1 MII down, one link
    failure) and after the pull (eth1 active again), within n3x's failover times."""
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
    for name, limit in FAILOVER_MS.items():
        got = int(run.metrics[name])
        expect(got <= limit, f"{name} {got} ms > {limit} ms")

# Address fields that count down on their own between two dumps.
_LIFETIMES = ("valid_life_time", "preferred_life_time")


def same_kernel_state(before, after, recreated=()):
    """n3x's rollback promise: AFTER (a checkpoint) holds exactly BEFORE's links with the
    same attributes (`ip -d -j link`), addresses (`ip -j addr`) and IPv4/IPv6 routes of
    every table.
    Left out: address lifetimes (they count down on their own) and the qdisc of a link
    that had never been up ("noop": the kernel attaches the default qdisc on the first
    up and keeps it; nothing can detach it again). RECREATED names links that were
    deleted and created again in between (a reverted change that had removed them): the
    kernel gives them a new ifindex, which nothing can restore; it must differ, and
    every other attribute must not. Every other difference is listed in the
    AssertionError."""
    diffs = []
    links = {}
    addrs = {}
    for label, st in (("before", before), ("after", after)):
        links[label] = _by_name(st.links)
        addrs[label] = _addr_view(st)
        for name in recreated:
            for view in (links[label], addrs[label]):
                if name in view:
                    view[name] = {k: v for k, v in view[name].items() if k != "ifindex"}
    for name in recreated:
        if before.link(name)["ifindex"] == after.link(name)["ifindex"]:
            diffs.append(f"link {name} was not recreated: same ifindex")
    _diff_by_name(diffs, "link", links["before"], links["after"])
    _diff_by_name(diffs, "addr", addrs["before"], addrs["after"])
    for family, b, a in (("route", before.routes4, after.routes4),
                         ("route6", before.routes6, after.routes6)):
        bs, as_ = {_canon(r) for r in b}, {_canon(r) for r in a}
        diffs += [f"{family} gone: {r}" for r in sorted(bs - as_)]
        diffs += [f"{family} new: {r}" for r in sorted(as_ - bs)]
    expect(not diffs, f"{after.label} differs from {before.label}:\n  " + "\n  ".join(diffs))


def _by_name(entries):
    return {e["ifname"]: e for e in entries}


def _addr_view(st):
    view = {}
    for entry in st.addr:
        e = dict(entry)
        e["addr_info"] = [{k: v for k, v in a.items() if k not in _LIFETIMES}
                          for a in entry.get("addr_info", [])]
        view[e["ifname"]] = e
    return view


def _canon(obj):
    return json.dumps(obj, sort_keys=True)


def _diff_by_name(diffs, what, before, after):
    for name in sorted(before.keys() - after.keys()):
        diffs.append(f"{what} {name} gone")
    for name in sorted(after.keys() - before.keys()):
        diffs.append(f"{what} {name} new: {_canon(after[name])[:300]}")
    for name in sorted(before.keys() & after.keys()):
        _diff_values(diffs, f"{what} {name}", before[name], after[name])


def _diff_values(diffs, path, b, a):
    """One line per differing leaf, named by its path in the JSON."""
    if isinstance(b, dict) and isinstance(a, dict):
        for k in sorted(b.keys() | a.keys()):
            _diff_values(diffs, f"{path}.{k}", b.get(k), a.get(k))
    elif b != a and not (path.endswith(".qdisc") and b == "noop"):
        diffs.append(f"{path}: {_canon(b)} -> {_canon(a)}")


def status_link(status, name):
    """The link NAME of `n3xnetctl status --json` output."""
    for link in status["links"]:
        if link["name"] == name:
            return link
    raise AssertionError(f"status --json has no link {name} "
                         f"(have {[link['name'] for link in status['links']]})")
