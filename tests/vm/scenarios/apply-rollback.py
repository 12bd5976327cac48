"""apply-rollback: a kernel-refused late step leaves the kernel exactly as it was."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq


def check(run):
    for attempt in ("fresh", "live"):
        out = run.file(attempt).json()
        expect_eq((out["outcome"], out["rolledBack"], out["verified"]),
                  ("rolled-back", True, False), f"{attempt} apply outcome/rolledBack/verified")
        failure = out["failure"]
        expect_eq(failure["errnoName"], "EINVAL", f"{attempt} apply: errno")
        expect("192.168.200.255" in failure["op"], f"{attempt} apply failed elsewhere: {failure}")
        # The route is the last step: everything before it was applied, then undone.
        expect(len(out["applied"]) >= 3, f"{attempt} apply: only {len(out['applied'])} ops ran")
        expect(out["rollbackOps"] > 0, f"{attempt} apply: nothing rolled back")
        n3x.same_kernel_state(run.checkpoint(f"{attempt}-before"),
                              run.checkpoint(f"{attempt}-after"))
    n3x.bonding_vlans(run.checkpoint("live-after"), node_index=1)
    expect_eq(run.file("check").json()["inSync"], True, "check after the live rollback")
