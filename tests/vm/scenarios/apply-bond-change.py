"""apply-bond-change: bond options and mode change in place, on a live bond."""

from vmharness.kstate import expect, expect_eq

KEPT = ("eth1", "eth2", "bond0", "bond0.100", "bond0.200")
ADDRS = {"bond0.200": ["192.168.200.1/24"], "bond0.100": ["192.168.100.1/24"]}


def check(run):
    old, new, lacp = (run.checkpoint(cp) for cp in ("miimon100", "miimon250", "lacp"))

    # miimon 100 -> 250; the kernel keeps the delays in polls (3 and 1 polls now).
    for st, want in ((old, (100, 200, 200)), (new, (250, 750, 250))):
        data = st.info_data("bond0")
        expect_eq((data.get("miimon"), data.get("updelay"), data.get("downdelay")), want,
                  f"{st.label}: bond0 miimon/updelay/downdelay")
    bond = new.bond("bond0")
    expect_eq((bond.info.get("MII Polling Interval (ms)"), bond.info.get("Up Delay (ms)"),
               bond.info.get("Down Delay (ms)")), ("250", "750", "250"),
              f"{new.label}: /proc/net/bonding/bond0 timing")
    expect_eq(bond.active_slave, "eth1", f"{new.label}: active slave")
    for port in ("eth1", "eth2"):
        expect_eq(new.link(port).get("master"), "bond0", f"{new.label}: {port} master")
        expect_eq(bond.slaves[port]["Link Failure Count"], "0", f"{new.label}: {port} failures")
    released = [line for line in _monitor_lines(run)
                if line.split(":")[1].strip().split("@")[0] in ("eth1", "eth2")
                and ("master bond0" not in line or line.startswith("Deleted"))]
    expect_eq(released, [], "port events without master bond0 during the miimon apply")
    applied = [op["op"] for op in run.file("miimon").json()["applied"]]
    expect_eq(applied, ["set-bond-options"], "ops of the miimon apply")
    expect_eq(run.file("miimon-check").json()["inSync"], True, "check after the miimon apply")

    # active-backup -> 802.3ad on the same bond.
    data = lacp.info_data("bond0")
    expect_eq((data.get("mode"), data.get("ad_lacp_rate"), data.get("miimon")),
              ("802.3ad", "fast", 100), f"{lacp.label}: bond0 mode/lacp rate/miimon")
    expect_eq(lacp.bond("bond0").mode, "IEEE 802.3ad Dynamic link aggregation",
              f"{lacp.label}: /proc/net/bonding/bond0 mode")
    expect_eq(run.file("mode-check").json()["inSync"], True, "check after the mode change")
    again = run.file("mode-again").json()
    expect_eq((again["outcome"], again["writes"]), ("in-sync", 0), "re-apply of 802.3ad")

    for st in (new, lacp):
        for name in KEPT:
            expect_eq(st.link(name)["ifindex"], old.link(name)["ifindex"],
                      f"{st.label}: {name} ifindex (recreated?)")
        for name, want in ADDRS.items():
            expect_eq(st.addrs(name), want, f"{st.label}: {name} IPv4")
            expect(st.routes(dst=want[0].rsplit(".", 1)[0] + ".0/24", dev=name),
                   f"{st.label}: no prefix route on {name}")


def _monitor_lines(run):
    """`ip -o monitor link` lines ("N: name: <flags> ... master X ..."), without the
    eth0 MTU probes that show the monitor was listening."""
    lines = run.file("monitor").stdout.splitlines()
    expect(any(" eth0: " in line for line in lines), "the link monitor saw no probe")
    return [line for line in lines if ":" in line and " eth0: " not in line]
