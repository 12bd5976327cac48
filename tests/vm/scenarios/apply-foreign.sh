# Foreign state survives (n3x's tests add their own default route and addresses; a
# manager that flushes them broke those tests): after apply, add an address and a
# default route on the cluster VLAN and a whole dummy link; re-apply -> nothing
# written, nothing foreign removed, check still in sync.
# @vms     server-1
# @needs   n3xnetctl
# @timeout 90
P=profiles/bonding-vlans.toml
capture apply1 0 n3xnetctl apply --profile $P
ip2 addr add 192.168.200.50/24 dev bond0.200
ip2 route add default via 192.168.200.254 dev bond0.200
ip2 link add dummy0 type dummy
ip2 addr add 10.99.0.1/24 dev dummy0
ip2 link set dummy0 up
checkpoint foreign-added
capture plan 0 n3xnetctl plan --json --profile $P
capture apply2 0 n3xnetctl apply --json --profile $P
capture check 0 n3xnetctl check --json --profile $P
checkpoint reapplied
