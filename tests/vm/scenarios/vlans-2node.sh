# Two nodes on the vlans profile reach each other on VLAN 200 and VLAN 100 over a
# shared trunk wire (eth1). Body: lib/two-node-vlans.sh; state: vlans-2node.py. Then,
# in the same boot, Multus pods on both nodes with the real CNI plugins (ipvlan l2 on
# eth1.100 with host shims, a vlan NAD on eth1): lib/two-node-multus.sh.
# @vms     server-1 server-2
# @link    server-1.eth1 server-2.eth1
# @needs   n3xnetctl cni/ipvlan cni/vlan cni/host-local
# @timeout 120
export PROFILE=profiles/vlans.toml REACH=yes
# shellcheck source=/dev/null  # scenarios/lib/two-node-vlans.sh (cwd: the repo)
. tests/vm/scenarios/lib/two-node-vlans.sh
# shellcheck source=/dev/null  # scenarios/lib/two-node-multus.sh (cwd: the repo)
. tests/vm/scenarios/lib/two-node-multus.sh
