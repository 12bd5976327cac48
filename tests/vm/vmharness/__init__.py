"""Host side of n3xnet's VM test tier (tests/vm/run).

Boots Debian's kernel under QEMU TCG with a small busybox initramfs, runs one guest
shell script per scenario, serves the guest's requests (link faults via QMP, barriers
between VMs) and asserts on the raw kernel state the guest dumps at checkpoints.
Python standard library only: CI machines get nothing but Debian packages.
"""
