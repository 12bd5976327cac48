# Two VMs joined by two wires (eth1-eth1, eth2-eth2), each with an 802.3ad bond
# (lacp_rate fast) over eth1+eth2 and VLAN 200 on it: both ports of both sides must
# reach actor and partner port state 63 (activity, fast, aggregation, sync, collecting,
# distributing), then each side pings the other across the aggregate.
# @arch    x86_64 aarch64
# @vms     a b
# @link    a.eth1 b.eth1
# @link    a.eth2 b.eth2
# @timeout 90
make_bond bond0 802.3ad - eth1 eth2 -- lacp_rate fast
ip2 link add link bond0 name bond0.200 type vlan id 200
ip2 addr add "192.168.200.$VM_INDEX/24" dev bond0.200
ip2 link set bond0.200 up
peer=192.168.200.$((3 - VM_INDEX))

lacp_ready() {
  for p in eth1 eth2; do
    for who in actor partner; do
      [ "$(bond_port_state bond0 $p $who)" = 63 ] || return 1
    done
  done
}

barrier configured
wait_for 20 lacp_ready
metric lacp_ready_ms "$WAITED_MS"
grep -q "Number of ports: 2" /proc/net/bonding/bond0 || fail "aggregator has not 2 ports"
wait_for 5 ping -c 1 -W 1 "$peer"
ping -c 3 -i 0.2 -W 1 "$peer"
checkpoint aggregated
barrier finished
