"""systemd-cable: the daemon's view (status --json through D-Bus) follows the pull; the
restarted daemon wrote nothing and the kernel did not move."""

from vmharness import n3x
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
    check_restart(run)


def check_restart(run):
    before, after = run.file("statusfile-before").json(), run.file("statusfile-after").json()
    expect(before["writes"] > 0, "the first start applied the profile")
    expect(after["pid"] != before["pid"], "status.json is the new daemon's")
    expect_eq((after["ready"], after["writes"], after["lastApply"]["writes"]), (True, 0, 0),
              "restarted daemon: ready, writes, last apply writes")
    n3x.same_kernel_state(run.checkpoint("before"), run.checkpoint("after"))
