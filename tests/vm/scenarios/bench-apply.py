"""bench-apply: the numbers are the metrics; here only that every apply did its job and
the second one wrote nothing."""

from vmharness.kstate import expect_eq


def check(run):
    for n in (0, 10, 100, 1000):
        first = run.file(f"ctl-{n}").json()
        expect_eq((first["outcome"], first["verified"]), ("applied", True), f"apply N={n}")
        second = run.file(f"again-{n}").json()
        expect_eq((second["outcome"], second["writes"]), ("in-sync", 0), f"second apply N={n}")
