# n3x's failover acceptance on an iproute2-built active-backup bond (bond0 = eth1+eth2,
# primary eth1, miimon 100, VLAN 200): the host pulls eth1's cable (QMP set_link) ->
# eth2 active within 1 s, bond stays up, traffic to a peer still flows; cable back ->
# eth1 active again within 2 s. eth3 is the peer (in netns "peer") on the same wire.
# Body: lib/cable-pull.sh (shared with cable-pull-dual-stack); state: cable-pull.py.
# @arch    x86_64 aarch64
# @nics    4
# @link    a.eth1 a.eth2 a.eth3
# @timeout 60
make_bond bond0 active-backup eth1 eth1 eth2
ip2 link add link bond0 name bond0.200 type vlan id 200
ip2 addr add 192.168.200.1/24 dev bond0.200
ip2 link set bond0.200 up

vlan_peer eth3 200 192.168.200.254/24
reach() { ping -c 1 -W 1 192.168.200.254; }
# shellcheck source=/dev/null  # scenarios/lib/cable-pull.sh (cwd: the repo)
. tests/vm/scenarios/lib/cable-pull.sh
