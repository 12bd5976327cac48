# n3x's failover acceptance on an iproute2-built active-backup bond (bond0 = eth1+eth2,
# primary eth1, miimon 100, VLAN 200): the host pulls eth1's cable (QMP set_link) ->
# eth2 active within 1 s, bond stays up, traffic to a peer still flows; cable back ->
# eth1 active again within 2 s. eth3 is the peer (in netns "peer") on the same wire.
# @arch    x86_64 aarch64
# @nics    4
# @link    a.eth1 a.eth2 a.eth3
# @timeout 60
make_bond bond0 active-backup eth1 eth1 eth2
ip2 link add link bond0 name bond0.200 type vlan id 200
ip2 addr add 192.168.200.1/24 dev bond0.200
ip2 link set bond0.200 up

vlan_peer eth3 200 192.168.200.254/24

wait_for 5 bond_active_is bond0 eth1
wait_for 5 ping -c 1 -W 1 192.168.200.254
# bond0's operstate follows its carrier with linkwatch's delay, and eth2 may still be
# inside its MII transition: the "before" the host checks is a steady one.
wait_for 5 bond_settled bond0
checkpoint before

_now; t0=$NOW_MS
host_link eth1 down
wait_for -s "$t0" 1 bond_active_is bond0 eth2
metric failover_ms "$WAITED_MS"
grep -qx "MII Status: up" /proc/net/bonding/bond0 || fail "bond0 went down on failover"
carrier_is eth1 0 || fail "eth1 still has carrier after the pull"
wait_for 2 ping -c 1 -W 1 192.168.200.254
checkpoint pulled

_now; t0=$NOW_MS
host_link eth1 up
wait_for -s "$t0" 2 bond_active_is bond0 eth1
metric failback_ms "$WAITED_MS"
wait_for 2 ping -c 1 -W 1 192.168.200.254
checkpoint restored
