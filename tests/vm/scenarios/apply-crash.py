"""apply-crash: an abort after any write of bonding-vlans converges, every link marked."""

from vmharness import n3x
from vmharness.kstate import expect, expect_eq

# The links bonding-vlans makes n3xnet create (the ports are NICs: never marked).
CREATED = ("bond0", "bond0.100", "bond0.200")
FOREIGN_LINKS = ("fdummy0", "fvlan300")
GROUP = "28211"


def foreign(st):
    """The foreign objects as the kernel shows them: links, their addresses, the route."""
    return ([st.link(name) for name in FOREIGN_LINKS],
            [st.addrs(name) for name in FOREIGN_LINKS],
            st.routes(dst="192.0.2.0/24"))


def check(run):
    first = run.file("apply0").json()
    expect_eq(first["outcome"], "applied", "reference apply outcome")
    writes = first["writes"]
    expect(writes > 0, "reference apply: no writes")
    fresh = run.checkpoint("fresh")
    for name in CREATED:
        expect(not fresh.has_link(name), f"fresh node: {name} exists")
    expect(fresh.link("fvlan300").get("group") == GROUP,
           "the foreign VLAN is not in n3xnet's group: it would prove nothing")
    for k in range(1, writes + 1):
        at = f"k={k} of {writes}"
        n3x.same_kernel_state(fresh, run.checkpoint(f"k{k}-before"))
        aborted = run.checkpoint(f"k{k}-aborted")
        for name in CREATED:
            if aborted.has_link(name):
                expect_eq(aborted.link(name).get("group"), GROUP,
                          f"{at}: {name} after the abort: group")
        expect_eq(foreign(aborted), foreign(fresh), f"{at}: foreign objects after the abort")

        again = run.file(f"k{k}-apply").json()
        expect(again["outcome"] in ("applied", "in-sync"), f"{at}: apply outcome {again}")
        expect_eq(run.file(f"k{k}-check").json()["inSync"], True, f"{at}: check inSync")
        applied = run.checkpoint(f"k{k}-applied")
        n3x.bonding_vlans(applied, node_index=1)
        for name in CREATED:
            link = applied.link(name)
            expect_eq((link.get("group"), link.get("ifalias")), (GROUP, "n3xnet"),
                      f"{at}: {name} after the new apply: group/alias")
        expect_eq(foreign(applied), foreign(fresh), f"{at}: foreign objects after the apply")
