# 802.3ad between two nodes built by n3xnetctl (issue #4 d): both apply
# tests/vm/profiles/lacp-vlan.toml (802.3ad, lacp_rate fast, VLAN 200 on bond0) over two
# wires; both ports of both sides reach actor/partner port state 63, the nodes ping each
# other across VLAN 200 and `status --json` shows the aggregator, partner and port states
# (apply-lacp.py). After negotiation server-1 pings every 50 ms while eth1's cable is
# pulled (both ends) on the port that carries them: no ping may be lost once the guest
# has seen the carrier go (one in flight on the wire, plus those sent while a loaded
# host was still delivering the pull, may be); status then shows that port down. Cable back: both
# ports at 63 again.
# @vms     server-1 server-2
# @link    server-1.eth1 server-2.eth1
# @link    server-1.eth2 server-2.eth2
# @needs   n3xnetctl
# @timeout 150
# shellcheck source=/dev/null  # scenarios/lib/lacp.sh (cwd: the repo)
. tests/vm/scenarios/lib/lacp.sh
P=tests/vm/profiles/lacp-vlan.toml
peer=192.168.200.$((3 - VM_INDEX))

capture apply 0 n3xnetctl apply --json --profile $P
barrier applied
wait_for 20 lacp_ready bond0 eth1 eth2
metric lacp_ready_ms "$WAITED_MS"
wait_for 5 ping -c 1 -W 1 "$peer"
checkpoint aggregated
capture status 0 n3xnetctl status --json
barrier negotiated

if [ "$VM_INDEX" = 1 ]; then
  # Pull the port that carries the pings (the layer2 hash puts them on one port).
  tx() { cat "/sys/class/net/$1/statistics/tx_packets"; }
  tx1=$(tx eth1) tx2=$(tx eth2)
  ping -c 100 -i 0.05 -W 1 "$peer" > "$OUT/files/pings.out" 2> "$OUT/files/pings.err" &
  pinger=$!
  wait_for 3 grep -q "seq=4 " "$OUT/files/pings.out"
  port=eth1
  [ $(($(tx eth2) - tx2)) -gt $(($(tx eth1) - tx1)) ] && port=eth2
  capture pulled-port 0 echo "$port"
  _now; t0=$NOW_MS
  host_cable $port down
  # The bond stops hashing onto a port when it sees the carrier go (NETDEV_CHANGE);
  # what was on the wire or queued before that is lost, as on a real cable pull.
  wait_for -s "$t0" 2 carrier_is $port 0
  metric carrier_lost_ms "$WAITED_MS"
  wait_for 2 port_mii_is bond0 $port down
  rc=0
  wait "$pinger" || rc=$?
  echo "$rc" > "$OUT/files/pings.rc"
  sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$OUT/files/pings.out")
  got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' "$OUT/files/pings.out")
  metric pings_lost $((sent - got))
  checkpoint pulled
  capture status-pulled 0 n3xnetctl status --json
  host_cable $port up
fi
barrier restored
wait_for 20 lacp_ready bond0 eth1 eth2
metric relacp_ms "$WAITED_MS"
checkpoint again
barrier finished
