# The n3xnetctl binary for the guest's architecture (x86_64: cargo's debug build;
# aarch64: cross/build-aarch64) runs in the guest from the 9p share: --version,
# validate of a shipped profile, k3s-flags by n3x's rule (asserted in ctl-runs.py).
# @arch    x86_64 aarch64
# @needs   n3xnetctl
# @timeout 60
capture version 0 n3xnetctl --version
capture validate 0 n3xnetctl validate profiles/bonding-vlans.toml
capture flags 0 n3xnetctl k3s-flags --profile profiles/bonding-vlans.toml --node server-2 --role server
capture bad-node 64 n3xnetctl k3s-flags --profile profiles/bonding-vlans.toml --node server-2
