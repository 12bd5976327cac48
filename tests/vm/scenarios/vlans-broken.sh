# n3x's negative test: vlans-broken gives every node other VLAN ids (server-1 200/100,
# server-2 201/101), so the nodes must NOT reach each other although the wire is up.
# @vms     server-1 server-2
# @link    server-1.eth1 server-2.eth1
# @needs   n3xnetctl
# @timeout 90
export PROFILE=profiles/vlans-broken.toml REACH=no
# shellcheck source=/dev/null  # scenarios/lib/two-node-vlans.sh (cwd: the repo)
. tests/vm/scenarios/lib/two-node-vlans.sh
