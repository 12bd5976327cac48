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
wait_for 5 bond_active_is bond0 eth1
# A steady "before": the VLANs' operstate follows bond0's carrier with linkwatch's delay.
oper_up() { [ "$(cat "/sys/class/net/$1/operstate")" = up ]; }
wait_for 5 oper_up bond0.200
wait_for 5 oper_up bond0.100
checkpoint live-before
capture live 1 n3xnetctl apply --json --profile $BAD
checkpoint live-after
capture check 0 n3xnetctl check --json --profile profiles/bonding-vlans.toml
