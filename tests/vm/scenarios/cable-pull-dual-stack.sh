# Dual-stack over bond + VLAN through a cable pull (issue 15): n3xnetctl applies
# profiles/dual-stack.toml (bonding-vlans with 192.168.200.1/24 and fd00:200::1/64 on the
# cluster VLAN bond0.200, and its owned link-local fe80::1/64); eth3 is a peer on the
# same wire (netns "peer", VLAN 200, 192.168.200.254/24 and fd00:200::fe/64). Once DAD
# is over, the pull of lib/cable-pull.sh with `reach` = IPv4, IPv6 and the node's
# link-local all answer. Across the failover and the failback no IPv6 address event at
# all (`ip monitor`): DAD is not run again, so nothing can go tentative or fail it; the
# addresses at each checkpoint (cable-pull-dual-stack.py). Then check: in sync.
# x86_64 only (the tier's cost): cable-pull runs the same pull on aarch64, and the IPv6
# address code is architecture-independent.
# @vms     server-1
# @nics    4
# @link    server-1.eth1 server-1.eth2 server-1.eth3
# @needs   n3xnetctl
# @timeout 90
P=profiles/dual-stack.toml
capture apply 0 n3xnetctl apply --profile $P
vlan_peer eth3 200 192.168.200.254/24 fd00:200::fe/64

wait_for 5 v6_ready bond0.200 fd00:200::1/64 fe80::1/64
reach() {
  ping -c 1 -W 1 192.168.200.254 && ping -6 -c 1 -W 1 fd00:200::fe &&
    ip2 netns exec peer ping -6 -c 1 -W 1 -I eth3.200 fe80::1
}
EVENTS=$OUT/files/addr6-events.out
ip2 -6 monitor address > "$EVENTS" 2>&1 &
monitor=$!
# shellcheck source=/dev/null  # scenarios/lib/cable-pull.sh (cwd: the repo)
. tests/vm/scenarios/lib/cable-pull.sh
kill "$monitor"
[ ! -s "$EVENTS" ] || fail "IPv6 address events across the pull: $(cat "$EVENTS")"
capture check 0 n3xnetctl check --json --profile $P
