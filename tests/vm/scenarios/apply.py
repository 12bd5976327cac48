"""apply: n3xnetctl makes the reference state, then leaves it alone."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq

MANAGED = ("eth1", "eth2", "bond0", "bond0.100", "bond0.200")


def check(run):
    expect(run.file("plan1").json()["changes"] > 0, "plan on a fresh node: no changes")

    first = run.file("apply1").json()
    expect_eq((first["outcome"], first["verified"], first["rolledBack"]),
              ("applied", True, False), "first apply outcome/verified/rolledBack")
    expect(first["writes"] > 0, "first apply: no writes")

    st = run.checkpoint("applied")
    n3x.bonding_vlans(st, node_index=1)
    bond = st.bond("bond0")
    # NixOS semantics of n3x (not the Debian generator's 802.3ad defect).
    expect_eq((bond.info.get("Up Delay (ms)"), bond.info.get("Down Delay (ms)")),
              ("200", "200"), "bond0 up/down delay")
    expect_eq(st.link("bond0")["address"], bond.slaves["eth1"]["Permanent HW addr"],
              "bond0 MAC (its first port's)")
    for name in MANAGED:  # LinkLocalAddressing=no, IPv6AcceptRA=no
        expect_eq(st.addrs(name, "inet6"), [], f"{name} IPv6 addresses")

    second = run.file("apply2").json()
    expect_eq((second["outcome"], second["writes"], second["planned"]), ("in-sync", 0, []),
              "second apply outcome/writes/planned")
    chk = run.file("check").json()
    expect_eq(chk["inSync"], True, "check inSync")
    expect_eq([r["path"] for r in chk["rows"] if not r["ok"]], [], "check rows not ok")
    expect_eq(run.file("plan2").json()["changes"], 0, "plan after apply: changes")

    again = run.checkpoint("again")
    for name in MANAGED:
        expect_eq(again.link(name)["ifindex"], st.link(name)["ifindex"],
                  f"{name} ifindex across the second apply (recreated?)")
    n3x.bonding_vlans(again, node_index=1)
