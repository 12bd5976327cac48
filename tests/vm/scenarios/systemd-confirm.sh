# Confirmed changes under the real unit, between two nodes (issue 17 item 5, VM tier).
# server-1 and server-2 both run n3xnetd.service on bonding-vlans (both declared servers
# by the boot hook), wired bond to bond (eth1-eth1, eth2-eth2): the cluster VLAN carries
# traffic between them. On server-1, serverApi's host, `--confirm-when reachable` checks
# its peer server's API, 192.168.200.2:6443, where server-2 runs a TCP listener (busybox
# nc); the profile has no gateway, so that is the only target.
# 1. Both up and in sync; server-1 pings 192.168.200.2 over bond0.200 (checkpoint before).
#    Without the roles there is no target: that confirmed reload is refused (exit 65),
#    the kernel untouched (checkpoint refused).
# 2. Wrong change: server-1's profile moves the cluster VLAN to 201, which server-2 does
#    not carry; `reload --confirm-within 15s --confirm-when reachable` applies it
#    (bond0.201 holds 192.168.200.1/24: checkpoint changed), the peer stops answering, and
#    the change reverts inside its window (bounded wait on the kernel: bond0.200 back with
#    the address, bond0.201 gone); ping works again; `status --json` says reverted
#    (unreachable). The host check compares checkpoint reverted with before.
# 3. Correct change: both nodes move the cluster VLAN to 202, server-2 by a plain reload,
#    then server-1 by `reload --confirm-within 10s --confirm-when reachable`: kept once the
#    peer answers, and still in the kernel after the window; no change pending in
#    `status --json`, the durable change journal gone, `confirm` has nothing to keep (81).
# Timings are metrics (reload_to_revert_ms, reload_to_kept_ms), not assertions.
# @systemd
# @vms     server-1 server-2
# @link    server-1.eth1 server-2.eth1
# @link    server-1.eth2 server-2.eth2
# @needs   n3xnetd n3xnetctl n3xnet-report
# @timeout 240
PROFILE=/etc/n3xnet/profile.toml
JOURNAL=/var/lib/n3xnet/change.json
PEER=192.168.200.2
WRONG_WITHIN=15 KEPT_WITHIN=10

addr_on() { ip2 -4 -o addr show dev "$1" 2>/dev/null | grep -q " $2 "; }
no_link() { ! ip2 link show dev "$1" >/dev/null 2>&1; }
# The cluster network on VLAN $1 of bond0, with this node's address, and no other.
cluster_on() {
  addr_on "bond0.$1" "192.168.200.$VM_INDEX/24" && oper_up "bond0.$1" &&
    for v in ${2:-}; do no_link "bond0.$v" || return 1; done
}
steady() {
  wait_for 20 bond_active_is bond0 eth1
  wait_for 20 bond_settled bond0
  wait_for 20 cluster_on "$1" "${2:-}"
  wait_for 20 addr_on bond0.100 "192.168.100.$VM_INDEX/24"
  wait_for 20 oper_up bond0.100
}
# The profile's cluster VLAN moved from $1 to $2 (vlanIds.cluster and its interface name).
move_cluster() {
  sed -i "s/^cluster = $1\$/cluster = $2/; s/^cluster = \"bond0.$1\"\$/cluster = \"bond0.$2\"/" "$PROFILE"
  assert_eq 2 "$(grep -c -e "^cluster = $2\$" -e "^cluster = \"bond0.$2\"\$" "$PROFILE")" \
    "cluster VLAN $2 lines in $PROFILE"
}
reaches() { ping -c 1 -W 1 "$PEER"; }
listening() { ss -Hltn 'sport = :6443' | grep -q .; }
# Guest uptime passed $1 (ms): waiting out a window.
past() { [ "$(now_ms)" -gt "$1" ]; }

wait_for 60 systemctl is-active --quiet n3xnetd.service
steady 200
if [ "$VM_NAME" = server-2 ]; then
  /usr/local/lib/n3x/busybox nc -ll -p 6443 -e /bin/true &
  wait_for 10 listening
fi
barrier up

if [ "$VM_NAME" = server-1 ]; then
  wait_for 20 reaches
  steady 200
  checkpoint before
  capture status-before 0 n3xnetctl status --json

  # Without a peer declared a server (bonding-vlans as shipped) server-1 has nothing to
  # check: the confirmed reload is refused before anything is written.
  cp "$PROFILE" /tmp/profile.toml
  sed -i '/^\[nodes\.server-1\]/,$d' "$PROFILE"
  move_cluster 200 201
  capture reload-nothing 65 n3xnetctl reload --confirm-within ${WRONG_WITHIN}s --confirm-when reachable
  checkpoint refused
  cp /tmp/profile.toml "$PROFILE"

  # 2. The wrong change.
  move_cluster 200 201
  _now; t0=$NOW_MS
  capture reload-wrong 0 n3xnetctl reload --confirm-within ${WRONG_WITHIN}s --confirm-when reachable
  capture statusfile-pending 0 cat /run/n3xnet/status.json
  addr_on bond0.201 192.168.200.1/24 || fail "the change is not in the kernel"
  checkpoint changed
  if ping -c 2 -W 1 "$PEER"; then
    fail "$PEER answered over VLAN 201, which server-2 does not carry"
  fi
  log "$PEER does not answer over VLAN 201"
  wait_for -s "$t0" $((WRONG_WITHIN + 20)) cluster_on 200 201
  metric reload_to_revert_ms "$WAITED_MS"
  steady 200 201
  wait_for 20 reaches
  checkpoint reverted
  capture status-reverted 0 n3xnetctl status --json
fi
barrier reverted

# 3. The correct change: server-2 first (plain reload), then server-1 (confirmed).
if [ "$VM_NAME" = server-2 ]; then
  move_cluster 200 202
  capture reload-plain 0 n3xnetctl reload
  steady 202 200
fi
barrier peer-moved
if [ "$VM_NAME" = server-1 ]; then
  move_cluster 201 202
  _now; t0=$NOW_MS
  capture reload-kept 0 n3xnetctl reload --confirm-within ${KEPT_WITHIN}s --confirm-when reachable
  # The window began before the reload returned: it is over one second after t1 + window.
  _now; t1=$NOW_MS
  no_journal() { [ ! -e "$JOURNAL" ]; }
  wait_for -s "$t0" $((KEPT_WITHIN + 5)) no_journal
  metric reload_to_kept_ms "$WAITED_MS"
  wait_for $((KEPT_WITHIN + 5)) past $((t1 + (KEPT_WITHIN + 1) * 1000))
  steady 202 200
  wait_for 20 reaches
  checkpoint kept
  capture status-kept 0 n3xnetctl status --json
  capture confirm-after 81 n3xnetctl confirm
fi
if [ "$VM_NAME" = server-2 ]; then
  checkpoint peer
fi
barrier done
