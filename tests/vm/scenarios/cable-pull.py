"""cable-pull: bond state before, during and after the pull, read from the kernel."""

from vmharness import n3x


def check(run):
    n3x.cable_pull(run)
