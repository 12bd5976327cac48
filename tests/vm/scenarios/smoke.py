"""smoke: the iproute2-built bond + VLANs are what n3x's tests expect to see."""

from vmharness import n3x


def check(run):
    n3x.bonding_vlans(run.checkpoint("configured"), node_index=1)
