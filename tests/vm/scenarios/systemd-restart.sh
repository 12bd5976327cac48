# A daemon restart on an in-sync node changes nothing (issue #5 item 4): `systemctl
# restart n3xnetd` makes 0 netlink writes (status.json `writes`), no bond port flaps
# (link failure counts) and no carrier changes on any managed link; ifindexes and the
# whole kernel state are equal before and after (systemd-restart.py).
# @systemd
# @vms     server-1
# @needs   n3xnetd n3xnetctl
# @timeout 120
LINKS="eth1 eth2 bond0 bond0.100 bond0.200"
counters() {
  for l in $LINKS; do echo "$l carrier_changes $(cat /sys/class/net/$l/carrier_changes)"; done
  grep -e "^Slave Interface" -e "^Link Failure Count" /proc/net/bonding/bond0
}
wait_for 40 systemctl is-active --quiet n3xnetd.service
wait_for 10 bond_active_is bond0 eth1
pid=$(systemctl show -p MainPID --value n3xnetd.service)
counters > "$OUT/files/counters-before"
checkpoint before
capture status-before 0 cat /run/n3xnet/status.json

capture restart 0 systemctl restart n3xnetd.service
new=$(systemctl show -p MainPID --value n3xnetd.service)
[ "$new" != "$pid" ] || fail "MainPID unchanged ($pid) across the restart"
assert_eq active "$(systemctl show -p ActiveState --value n3xnetd.service)" "after restart"
capture status-after 0 cat /run/n3xnet/status.json
counters > "$OUT/files/counters-after"
checkpoint after
assert_eq "$(cat "$OUT/files/counters-before")" "$(cat "$OUT/files/counters-after")" \
  "carrier changes and bond link failure counts across the restart"
