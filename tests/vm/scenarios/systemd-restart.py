"""systemd-restart: the restarted daemon wrote nothing and the kernel did not move."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq


def check(run):
    before, after = run.file("status-before").json(), run.file("status-after").json()
    expect(before["writes"] > 0, "the first start applied the profile")
    expect(after["pid"] != before["pid"], "status.json is the new daemon's")
    expect_eq((after["ready"], after["writes"], after["lastApply"]["writes"]), (True, 0, 0),
              "restarted daemon: ready, writes, last apply writes")
    n3x.same_kernel_state(run.checkpoint("before"), run.checkpoint("after"))
