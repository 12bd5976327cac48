"""apply-nobond: refused up front, nothing half-created."""

from vmharness.kstate import expect, expect_eq


def check(run):
    expect("bonding" in run.file("apply").stderr, "apply's error does not name bonding")
    before, after = run.checkpoint("before"), run.checkpoint("after")
    expect_eq([link["ifname"] for link in after.links],
              [link["ifname"] for link in before.links], "links after the refused apply")
    for name in ("eth1", "eth2"):
        expect_eq(after.link(name).get("master"), None, f"{name} master")
        expect_eq(after.link(name)["flags"], before.link(name)["flags"], f"{name} flags")
        expect_eq(after.addrs(name, "inet6"), before.addrs(name, "inet6"), f"{name} IPv6")
    expect_eq(run.file("check").json()["inSync"], False, "check inSync without a bond")
