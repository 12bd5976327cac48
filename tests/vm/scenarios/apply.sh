# n3xnetctl on a fresh node (issue #4 a, b, c, i): plan shows changes (exit 2), apply
# builds bonding-vlans for server-1 (exit 0), the kernel then passes n3x's own
# assertions (apply.py), a second apply writes nothing, check finds no drift, plan has
# nothing to do; nothing was recreated by the second apply.
# @arch    x86_64 aarch64
# @vms     server-1
# @needs   n3xnetctl
# @timeout 90
P=profiles/bonding-vlans.toml
checkpoint before
capture plan1 2 n3xnetctl plan --json --profile $P
capture apply1 0 n3xnetctl apply --json --profile $P
wait_for 5 bond_active_is bond0 eth1
# apply.py asserts the steady state (both ports' MII up): a port enslaved with its carrier
# already up can still be in updelay ("going back") for a moment after apply returns.
wait_for 5 bond_settled bond0
checkpoint applied
capture apply2 0 n3xnetctl apply --json --profile $P
capture check 0 n3xnetctl check --json --profile $P
capture plan2 0 n3xnetctl plan --json --profile $P
capture status 0 n3xnetctl status --json
checkpoint again
