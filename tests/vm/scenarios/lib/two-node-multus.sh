# Multus pod side on the two-node VLAN wire (sourced by vlans-2node.sh after its pings;
# not a scenario itself). Each node applies the vlans profile plus two Multus networks,
# writes its CNI configs with `n3xnetctl render multus --node --out`, and attaches a pod
# (a netns) to each by executing the real plugins as Multus does (CNI_* environment, the
# node's config on stdin, result JSON on stdout):
#   stor: ipvlan l2 on the storage VLAN eth1.100, node-pools, host shim iv-stor;
#   tagged: a vlan NAD, VID 300 on the trunk eth1 (no shim);
#   l3: ipvlan l3 on the cluster VLAN eth1.200, shim iv-l3. L3 mode does no ARP: each
#   node routes the other node's slice via its cluster address (profile routes; the
#   slices are .20/30 and .24/30 with rangeStart .16), which node-pools make possible.
# vlans.toml's cluster addresses are .1-.4, so with 4 pods per node server-1 hands out
# .14-.17 and server-2 .18-.21: a fresh node's first pod gets the first of its slice.
# shellcheck shell=sh
profile=/tmp/multus.toml
cat "$PROFILE" - > "$profile" <<'TOML'

[multus.stor]
type = "ipvlan"
master = "eth1.100"
mode = "l2"
subnet = "192.168.40.0/24"
rangeStart = "192.168.40.10"
rangeEnd = "192.168.40.250"
podsPerNode = 4
hostAddresses = { server-1 = "192.168.40.1", server-2 = "192.168.40.2" }

[multus.l3]
type = "ipvlan"
master = "eth1.200"
mode = "l3"
subnet = "192.168.60.0/24"
rangeStart = "192.168.60.16"
rangeEnd = "192.168.60.250"
podsPerNode = 4
hostAddresses = { server-1 = "192.168.60.1", server-2 = "192.168.60.2" }

[[nodes.server-1.routes]]
to = "192.168.60.24/30"
via = "192.168.200.2"

[[nodes.server-2.routes]]
to = "192.168.60.20/30"
via = "192.168.200.1"

[multus.tagged]
type = "vlan"
master = "eth1"
vlanId = 300
subnet = "192.168.50.0/24"
rangeStart = "192.168.50.10"
rangeEnd = "192.168.50.250"
podsPerNode = 4
TOML
capture apply-multus 0 n3xnetctl apply --json --profile "$profile"
capture render-multus 0 n3xnetctl render multus --profile "$profile" --node "$VM_NAME" --out /tmp/net.d

# shellcheck source=/dev/null  # scenarios/lib/cni.sh (cwd: the repo)
. tests/vm/scenarios/lib/cni.sh
first=$((10 + 4 * VM_INDEX))         # the first address of this node's slice
other_first=$((10 + 4 * other))
ip2 netns add pod
cni_add stor pod "192.168.40.$first/24"
cni_add tagged pod "192.168.50.$first/24"
l3_first=$((16 + 4 * VM_INDEX)) l3_other=$((16 + 4 * other))
cni_add l3 pod "192.168.60.$l3_first/24"
ip2 -n pod -d link show dev net-stor | grep -q "ipvlan  *mode l2" || fail "net-stor is no ipvlan l2"
ip2 -n pod -d link show dev net-l3 | grep -q "ipvlan  *mode l3" || fail "net-l3 is no ipvlan l3"
ip2 -n pod -d link show dev net-tagged | grep -q "vlan protocol 802.1Q id 300" || fail "net-tagged is no VID 300"
checkpoint multus-pods
barrier multus-pods
# The node reaches its own ipvlan pod through its shim; the pods reach the other
# node's pods on both networks and the other node's shim.
wait_for 10 ping -c 1 -W 1 "192.168.40.$first"
wait_for 10 ip2 netns exec pod ping -c 1 -W 1 "192.168.40.$other_first"
wait_for 10 ip2 netns exec pod ping -c 1 -W 1 "192.168.40.$other"
wait_for 10 ip2 netns exec pod ping -c 1 -W 1 "192.168.50.$other_first"
wait_for 10 ping -c 1 -W 1 "192.168.60.$l3_first"
wait_for 10 ip2 netns exec pod ping -c 1 -W 1 "192.168.60.$l3_other"
log "multus: own pod via shim, other node's pods and shim reached"
barrier multus-pinged
# Why the shim exists, for ipvlan too: with the node's address on the master eth1.100
# instead, the node cannot reach its own pod; applying again brings the shim back.
ip2 link del iv-stor
ip2 addr add "192.168.40.$VM_INDEX/24" dev eth1.100
if ping -c 2 -W 1 "192.168.40.$first"; then fail "reached the own ipvlan pod without a shim"; fi
ip2 addr del "192.168.40.$VM_INDEX/24" dev eth1.100
capture reapply-multus 0 n3xnetctl apply --json --profile "$profile"
wait_for 10 ping -c 1 -W 1 "192.168.40.$first"
log "multus: own pod unreachable without the shim, reachable with it"
for nad in stor tagged l3; do
  cni "$nad" pod DEL > /dev/null || fail "$nad DEL"
done
ip2 netns del pod
