"""systemd-package-boot: an image with the package and render node's files boots to
network-online.target through the packaged n3xnet, networkd masked."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq


def show(run, name):
    return dict(line.split("=", 1) for line in run.file(name).stdout.splitlines()
                if "=" in line)


def check(run):
    n3x.bonding_vlans(run.checkpoint("online"), node_index=1)
    d = show(run, "n3xnetd.service")
    expect_eq((d["ActiveState"], d["UnitFileState"]), ("active", "enabled"),
              "n3xnetd: enabled by render node, active")
    # The package's unit (bookworm's systemd names merged /usr's /lib path), not /etc's.
    expect(d["FragmentPath"] in ("/lib/systemd/system/n3xnetd.service",
                                 "/usr/lib/systemd/system/n3xnetd.service"),
           f"n3xnetd's unit file {d['FragmentPath']}")
    expect(d["StatusText"].startswith("online: cluster ok"), f"StatusText {d['StatusText']!r}")
    wo = show(run, "n3xnet-wait-online.service")
    target = show(run, "network-online.target")
    expect_eq((wo["ActiveState"], wo["Result"]), ("active", "success"), "n3xnet-wait-online")
    expect(0 < int(wo["ActiveEnterTimestampMonotonic"])
           <= int(target["ActiveEnterTimestampMonotonic"]),
           "network-online.target reached after n3xnet-wait-online")
    nd = show(run, "systemd-networkd.service")
    expect_eq((nd["UnitFileState"], nd["ActiveState"], nd["ExecMainStartTimestampMonotonic"]),
              ("masked", "inactive", "0"), "systemd-networkd: masked, never started")
    expect_eq(run.file("exe").stdout.strip(), "/usr/sbin/n3xnetd", "n3xnetd's binary")
    expect(run.file("dpkg-owner").stdout.startswith("n3xnet: "),
           f"dpkg -S /usr/sbin/n3xnetd: {run.file('dpkg-owner').stdout!r}")
    rep = show(run, "n3xnet-report.service")
    expect_eq((rep["ActiveState"], rep["UnitFileState"], rep["NRestarts"]),
              ("active", "disabled", "0"), "n3xnet-report: started by n3xnetd's Wants=")
    expect(rep["FragmentPath"] in ("/lib/systemd/system/n3xnet-report.service",
                                   "/usr/lib/systemd/system/n3xnet-report.service"),
           f"n3xnet-report's unit file {rep['FragmentPath']}")
    expect_eq(run.file("report-exe").stdout.strip(), "/usr/sbin/n3xnet-report",
              "n3xnet-report's binary")
