"""systemd-package: the .deb installs without touching the network, makes a node with
render node, reloads, upgrades without a flap and purges leaving the network up."""

import json

from vmharness import n3x
from vmharness.kstate import expect, expect_eq


def lines(run, name):
    return run.file(name).stdout.split()


def show(run, name):
    return dict(line.split("=", 1) for line in run.file(name).stdout.splitlines()
                if "=" in line)


def check(run):
    # Installing never touches the network: networkd stays, n3xnetd stays off.
    n3x.same_kernel_state(run.checkpoint("before-install"), run.checkpoint("after-install"))
    expect_eq(lines(run, "installed-networkd"), ["active"], "networkd after dpkg -i")
    expect_eq(lines(run, "installed-enabled"), ["disabled", "disabled", "disabled"],
              "n3xnetd, n3xnet-wait-online, n3xnet-report enablement after dpkg -i")
    expect_eq(lines(run, "installed-active"), ["inactive", "inactive"],
              "n3xnetd, n3xnet-report after dpkg -i")
    expect(not run.checkpoint("after-install").has_link("bond0"), "a bond after dpkg -i")

    # render node made it a node; the packaged policy lets status reach the daemon.
    node = run.checkpoint("node")
    n3x.bonding_vlans(node, node_index=1)
    expect_eq(lines(run, "node-enabled"), ["enabled", "enabled", "disabled"],
              "n3xnetd, n3xnet-wait-online, n3xnet-report after render node")
    # The reporter runs (n3xnetd wants it) from the package's unit and binary.
    rep = show(run, "node-report")
    expect_eq((rep["ActiveState"], rep["NRestarts"]), ("active", "0"), "n3xnet-report")
    expect(rep["FragmentPath"] in ("/lib/systemd/system/n3xnet-report.service",
                                   "/usr/lib/systemd/system/n3xnet-report.service"),
           f"n3xnet-report's unit file {rep['FragmentPath']}")
    expect(rep["ExecStart"].startswith("{ path=/usr/sbin/n3xnet-report "),
           f"n3xnet-report's ExecStart {rep['ExecStart']}")
    expect_eq(lines(run, "node-networkd"), ["masked"], "networkd after render node")
    status = run.file("status").json()
    expect_eq(status["source"], "daemon", "n3xnetctl status answered by")
    expect("io.n3x.Net1" in run.file("introspect").stdout, "busctl introspect io.n3x.Net1")

    reloaded = run.file("reloaded-status").json()["lastApply"]
    expect_eq((reloaded["trigger"], reloaded["outcome"]), ("reload", "applied"),
              "systemctl reload with miimon 100 -> 200")
    expect_eq(run.checkpoint("before-upgrade").bond("bond0").info.get(
        "MII Polling Interval (ms)"), "200", "miimon after the reload")

    # The upgrade restarted n3xnetd (the scenario waited for a new InvocationID) without
    # a write, a flap or a lost enablement.
    version = run.file("upgraded-version").stdout.strip()
    expect(version.endswith("-1+upgrade"), f"version after the upgrade: {version!r}")
    upgraded = json.loads(run.file("upgraded-status").stdout)
    expect_eq((upgraded["ready"], upgraded["writes"]), (True, 0),
              "status.json after the upgrade: ready, writes")
    expect_eq(lines(run, "upgraded-enabled"), ["enabled", "enabled", "disabled"],
              "enablement after upgrade")
    # (The scenario waited for the reporter's new InvocationID, following the new n3xnetd.)
    expect_eq(show(run, "upgraded-report")["ActiveState"], "active", "n3xnet-report after upgrade")
    before, after = run.checkpoint("before-upgrade"), run.checkpoint("after-upgrade")
    n3x.same_kernel_state(before, after)
    for port in ("eth1", "eth2"):
        expect_eq(after.bond("bond0").slaves[port]["Link Failure Count"],
                  before.bond("bond0").slaves[port]["Link Failure Count"],
                  f"{port} link failures across the upgrade")

    # Purge: the network as it was, the package's files gone.
    n3x.same_kernel_state(run.checkpoint("before-purge"), run.checkpoint("after-purge"))
    expect_eq(run.file("purged-files").stdout.strip(), "", "files left after dpkg -P")
    expect(all(s in ("inactive", "unknown") for s in lines(run, "purged-active"))
           and len(lines(run, "purged-active")) == 2,
           f"n3xnetd, n3xnet-report after purge: {run.file('purged-active').stdout!r}")

