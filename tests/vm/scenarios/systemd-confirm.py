"""systemd-confirm: a confirmed change that cuts server-1 off its peer reverts to exactly
the state before it; one its peer answers is kept."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq

PEER_API = "192.168.200.2:6443"


def change(run, name):
    """The `change` of a captured `n3xnetctl status --json` (None: no change recorded)."""
    st = run.vm("server-1").file(name).json()
    expect_eq(st["source"], "daemon", f"{name}: source")
    return st["daemon"].get("change")


def cluster(st, vid, node_index):
    vlan = f"bond0.{vid}"
    expect_eq(st.kind(vlan), "vlan", f"{st.label}: {vlan} kind")
    expect_eq(st.info_data(vlan).get("id"), vid, f"{st.label}: {vlan} VLAN id")
    expect_eq(st.link(vlan).get("link"), "bond0", f"{st.label}: {vlan} parent")
    expect_eq(st.addrs(vlan), [f"192.168.200.{node_index}/24"], f"{st.label}: cluster IPv4")
    holders = [e["ifname"] for e in st.addr
               if any(a.get("local") == f"192.168.200.{node_index}"
                      for a in e.get("addr_info", []))]
    expect_eq(holders, [vlan], f"{st.label}: links holding the cluster address")


def check(run):
    s1 = run.vm("server-1")
    expect_eq(change(run, "status-before"), None, "status before the change: change")

    nothing = s1.file("reload-nothing").stderr
    expect("names nothing to check" in nothing and "reachable=HOST:PORT" in nothing,
           f"refused reload without a target: {nothing!r}")
    n3x.same_kernel_state(s1.checkpoint("before"), s1.checkpoint("refused"))

    pending = s1.file("statusfile-pending").json()["change"]
    expect_eq((pending["state"], pending["until"]),
              ("pending", {"kind": "reachable", "targets": [PEER_API]}),
              "status.json right after the wrong reload: state, what keeps it")
    cluster(s1.checkpoint("changed"), 201, 1)

    reverted = change(run, "status-reverted")
    expect_eq((reverted["state"], reverted["reason"]), ("reverted", "unreachable"),
              "status after the window: state, reason")
    expect(reverted.get("lastCheck", "").startswith(PEER_API + ": "),
           f"last failed check is not the peer's API: {reverted}")
    n3x.bonding_vlans(s1.checkpoint("reverted"), node_index=1)
    # The wrong change deleted bond0.200 (n3xnet's, no longer declared); the revert made
    # it again: a new ifindex, everything else as before.
    n3x.same_kernel_state(s1.checkpoint("before"), s1.checkpoint("reverted"),
                          recreated=("bond0.200",))

    expect_eq(change(run, "status-kept"), None, "status after the kept change's window: change")
    expect("no confirmed change is pending" in s1.file("confirm-after").stderr,
           f"confirm after the kept change: {s1.file('confirm-after').stderr!r}")
    cluster(s1.checkpoint("kept"), 202, 1)
    cluster(run.vm("server-2").checkpoint("peer"), 202, 2)
