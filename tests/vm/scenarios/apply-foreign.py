"""apply-foreign: what n3xnet does not own is never touched."""

from vmharness.kstate import expect, expect_eq


def check(run):
    expect_eq(run.file("plan").json()["changes"], 0, "plan with foreign state: changes")
    second = run.file("apply2").json()
    expect_eq((second["outcome"], second["writes"]), ("in-sync", 0),
              "apply with foreign state: outcome/writes")
    expect_eq(run.file("check").json()["inSync"], True, "check with foreign state")
    st = run.checkpoint("reapplied")
    expect_eq(sorted(st.addrs("bond0.200")), ["192.168.200.1/24", "192.168.200.50/24"],
              "bond0.200 IPv4 (ours + the foreign one)")
    expect(st.routes(dst="default", gateway="192.168.200.254", dev="bond0.200"),
           "the foreign default route via 192.168.200.254 is gone")
    expect_eq(st.kind("dummy0"), "dummy", "foreign dummy0")
    expect_eq(st.addrs("dummy0"), ["10.99.0.1/24"], "dummy0 IPv4")
