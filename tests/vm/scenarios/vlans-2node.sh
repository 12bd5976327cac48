# Two nodes on the vlans profile reach each other on VLAN 200 and VLAN 100 over a
# shared trunk wire (eth1). Body: lib/two-node-vlans.sh; state: vlans-2node.py.
# @vms     server-1 server-2
# @link    server-1.eth1 server-2.eth1
# @needs   n3xnetctl
# @timeout 90
export PROFILE=profiles/vlans.toml REACH=yes
# shellcheck source=/dev/null  # scenarios/lib/two-node-vlans.sh (cwd: the repo)
. tests/vm/scenarios/lib/two-node-vlans.sh
