"""systemd-online: offline at boot holds network-online.target; online releases it."""

from vmharness.kstate import expect, expect_eq


def check(run):
    err = run.file("wait-timeout").stderr
    expect("not online after 1s: blocked by cluster (bond0.200) down" in err
           and "eth1 down" in err, f"wait-online's timeout message: {err!r}")
    expect_eq(run.file("before-target").stdout.strip(), "inactive",
              "network-online.target while offline")
    expect_eq(run.file("before-k3s").stdout.strip(), "inactive", "k3s stand-in while offline")
    offline = run.checkpoint("offline")
    expect(offline.addrs("bond0.200") == ["192.168.200.1/24"],
           "applied while offline: cluster address")
    expect("NO-CARRIER" in offline.link("bond0")["flags"], "bond0 without carrier offline")
    online = run.checkpoint("online")
    expect_eq(online.bond("bond0").active_slave, "eth1", "active port once eth1 is up")
    journal = run.file("wait-online-journal").stdout
    expect("waiting: blocked by cluster (bond0.200) down" in journal,
           f"the wait-online unit's journal names what blocks: {journal[-800:]!r}")
