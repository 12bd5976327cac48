"""systemd-cable: the daemon's view (status --json through D-Bus) follows the pull."""

from vmharness.kstate import expect, expect_eq


def port(status, bond, name):
    health = status["daemon"]["health"]
    b = next(b for b in health["bonds"] if b["name"] == bond)
    return next(p for p in b["ports"] if p["name"] == name)


def check(run):
    for name, up in (("status-before", True), ("status-pulled", False),
                     ("status-restored", True)):
        st = run.file(name).json()
        expect_eq(st["source"], "daemon", f"{name}: source")
        expect_eq(port(st, "bond0", "eth1")["up"], up, f"{name}: eth1 up")
    pulled = run.file("status-pulled").json()["daemon"]["health"]
    expect_eq(pulled["online"], True, "online with eth2 carrying")
    cluster = next(n for n in pulled["networks"] if n["name"] == "cluster")
    expect_eq((cluster["level"], cluster.get("reason")), ("degraded", "bond0: eth1 down"),
              "cluster network while eth1 is pulled")
    expect("bond0: eth1 down" in run.file("dbus-pulled").stdout, "D-Bus Status while pulled")
    expect_eq(run.checkpoint("pulled").bond("bond0").active_slave, "eth2", "active port")
