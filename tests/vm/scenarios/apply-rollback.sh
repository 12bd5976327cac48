# Rollback (issue #4 f): tests/vm/profiles/rollback.toml passes validation but its last
# step, a route via the cluster subnet's broadcast address, fails in the kernel. Once on
# a fresh node (apply creates the bond, VLANs and addresses first) and once on a node
# already at bonding-vlans (apply changes bond timing and MTUs first): apply must exit 1
# with rolledBack true, and the kernel (ip -d -j link, addr, route) must equal the dump
# taken before each attempt (apply-rollback.py).
# @vms     server-1
# @needs   n3xnetctl
# @timeout 90
BAD=tests/vm/profiles/rollback.toml
checkpoint fresh-before
capture fresh 1 n3xnetctl apply --json --profile $BAD
checkpoint fresh-after

capture good 0 n3xnetctl apply --profile profiles/bonding-vlans.toml
# Steady snapshots only: both compare the whole kernel state, and a port inside its
# MII transition (GOING_BACK) or a VLAN whose operstate lags bond0's carrier (linkwatch)
# would differ from itself a moment later without anyone changing anything.
steady() {
  wait_for 5 bond_active_is bond0 eth1
  wait_for 5 bond_settled bond0
  wait_for 5 oper_up bond0.200
  wait_for 5 oper_up bond0.100
}
steady
checkpoint live-before
capture live 1 n3xnetctl apply --json --profile $BAD
steady
checkpoint live-after
capture check 0 n3xnetctl check --json --profile profiles/bonding-vlans.toml
