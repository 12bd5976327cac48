"""ctl-runs: the guest ran our binary and it answered as on the build machine."""

from vmharness.kstate import expect, expect_eq


def check(run):
    expect(run.file("version").stdout.startswith("n3xnetctl "),
           f"--version printed {run.file('version').stdout!r}")
    expect_eq(run.file("flags").stdout.split(),
              ["--node-ip=192.168.200.2", "--flannel-iface=bond0.200",
               "--advertise-address=192.168.200.2", "--tls-san=192.168.200.1"],
              "k3s flags of bonding-vlans server-2")
    expect("role" in run.file("bad-node").stderr, "k3s-flags without a role: no hint on stderr")
