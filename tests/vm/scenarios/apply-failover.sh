# n3x's failover acceptance on the bond n3xnetctl built (updelay/downdelay 200 ms as
# in n3x's NixOS module): cable pull on eth1 -> eth2 active within 1 s and bond0 up;
# cable back -> eth1 active again within 2 s; then check reports no drift. The profile
# adds two Multus networks: macvlan on the storage VLAN bond0.100 (host shim mv-storage)
# and a vlan NAD, VID 300 on bond0 itself; a pod attached to both with the real plugins
# keeps reaching a peer on VLAN 100 and on VLAN 300 (eth3, in netns "peer", on the same
# wire) through the failover and the failback.
# @vms     server-1
# @nics    4
# @link    server-1.eth1 server-1.eth2 server-1.eth3
# @needs   n3xnetctl cni/macvlan cni/vlan cni/host-local
# @timeout 90
P=/tmp/multus.toml
cat profiles/bonding-vlans.toml - > $P <<'TOML'

[multus.storage]
type = "macvlan"
master = "bond0.100"
subnet = "192.168.20.0/24"
rangeStart = "192.168.20.10"
rangeEnd = "192.168.20.250"
hostAddresses = { server-1 = "192.168.20.1" }

[multus.tagged]
type = "vlan"
master = "bond0"
vlanId = 300
subnet = "192.168.50.0/24"
rangeStart = "192.168.50.10"
rangeEnd = "192.168.50.250"
TOML
capture apply 0 n3xnetctl apply --profile $P
capture render-multus 0 n3xnetctl render multus --profile $P --node server-1 --out /tmp/net.d
wait_for 5 bond_active_is bond0 eth1

vlan_peer eth3 100 192.168.20.254/24
ip2 -n peer link add link eth3 name eth3.300 type vlan id 300
ip2 -n peer addr add 192.168.50.254/24 dev eth3.300
ip2 -n peer link set eth3.300 up
# shellcheck source=/dev/null  # scenarios/lib/cni.sh (cwd: the repo)
. tests/vm/scenarios/lib/cni.sh
ip2 netns add pod
# server-1's cluster address is .1: block 1 of 16 from .10.
cni_add storage pod 192.168.20.26/24
cni_add tagged pod 192.168.50.26/24
wait_for 5 ip2 netns exec pod ping -c 1 -W 1 192.168.20.254
wait_for 5 ip2 netns exec pod ping -c 1 -W 1 192.168.50.254
wait_for 5 ping -c 1 -W 1 192.168.20.26
wait_for 5 bond_settled bond0

_now; t0=$NOW_MS
host_link eth1 down
wait_for -s "$t0" 1 bond_active_is bond0 eth2
metric failover_ms "$WAITED_MS"
grep -qx "MII Status: up" /proc/net/bonding/bond0 || fail "bond0 went down on failover"
wait_for 2 ip2 netns exec pod ping -c 1 -W 1 192.168.20.254
wait_for 2 ip2 netns exec pod ping -c 1 -W 1 192.168.50.254
checkpoint pulled

_now; t0=$NOW_MS
host_link eth1 up
wait_for -s "$t0" 2 bond_active_is bond0 eth1
metric failback_ms "$WAITED_MS"
wait_for 2 ip2 netns exec pod ping -c 1 -W 1 192.168.20.254
wait_for 2 ip2 netns exec pod ping -c 1 -W 1 192.168.50.254
checkpoint restored
cni storage pod DEL > /dev/null || fail "storage DEL"
cni tagged pod DEL > /dev/null || fail "tagged DEL"
capture check 0 n3xnetctl check --json --profile $P
