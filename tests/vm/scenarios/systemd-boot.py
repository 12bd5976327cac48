"""systemd-boot: READY before active, the kernel at READY, StatusText, the order
n3xnetd -> n3xnet-wait-online -> network-online.target -> k3s stand-in, exposure."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq

# `systemd-analyze security` exposure of n3xnetd.service (0 = locked down, 10 = none).
# 2.5 today (the host's `systemd-analyze security --offline=true` agrees); it needs
# root with CAP_NET_ADMIN/CAP_NET_RAW and netlink, packet and inet sockets by its nature.
MAX_EXPOSURE = 3.0


def show(run, name):
    return dict(line.split("=", 1) for line in run.file(name).stdout.splitlines()
                if "=" in line)


def mono(props, key):
    return int(props[key])


def check(run):
    at_ready = show(run, "at-ready")
    expect_eq(at_ready["ActiveState"], "activating", "n3xnetd state at ExecStartPost (READY)")
    n3x.bonding_vlans(run.checkpoint("at-ready"), node_index=1)
    n3x.bonding_vlans(run.checkpoint("active"), node_index=1)

    d = show(run, "n3xnetd")
    expect_eq((d["ActiveState"], d["SubState"], d["Type"], d["NRestarts"]),
              ("active", "running", "notify", "0"), "n3xnetd.service")
    expect(d["StatusText"].startswith("online: cluster ok"), f"StatusText {d['StatusText']!r}")
    wo = show(run, "n3xnet-wait-online.service")
    target = show(run, "network-online.target")
    k3s = show(run, "n3x-k3s-stub.service")
    expect_eq((wo["ActiveState"], wo["Result"]), ("active", "success"), "wait-online")
    expect_eq(target["ActiveState"], "active", "network-online.target")
    order = [("n3xnetd active", mono(d, "ActiveEnterTimestampMonotonic")),
             ("wait-online started", mono(wo, "InactiveExitTimestampMonotonic")),
             ("wait-online done", mono(wo, "ActiveEnterTimestampMonotonic")),
             ("network-online.target", mono(target, "ActiveEnterTimestampMonotonic")),
             ("k3s stand-in started", mono(k3s, "InactiveExitTimestampMonotonic"))]
    expect([t for _, t in order] == sorted(t for _, t in order) and order[0][1] > 0,
           f"start order: {order}")

    exposure = float(run.metrics["exposure"])
    expect(exposure <= MAX_EXPOSURE, f"n3xnetd.service exposure {exposure} > {MAX_EXPOSURE}")
