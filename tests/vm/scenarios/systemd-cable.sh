# A cable pull under the real unit shows up (issue #5 item 4): the host drops eth1's
# link (QMP set_link); n3xnetd's health names eth1 down over D-Bus (`busctl monitor`: the PropertiesChanged of io.n3x.Net1's Status) and
# in `n3xnetctl status --watch --json` (its HealthChanged signal). Both listen from
# before the pull: a debug n3xnetctl takes ~3 s to start under TCG, polling would
# measure the CLI, not the daemon. `status --json` (from the daemon) then carries the
# port's state (systemd-cable.py); the link returns and all say ok again. How long each
# took is reported (pull_to_dbus_ms, pull_to_status_watch_ms: ~0.2-0.5 s under TCG),
# not asserted: a loaded CI machine slows the guest, and speed is the benchmarks' job
# (carrier event to health, BENCHMARKS.md). The bounds below only stop a run that never
# sees it.
# Then, on this in-sync node, `systemctl restart n3xnetd` changes nothing: 0 netlink
# writes (status.json `writes`), no bond port flaps (link failure counts) and no carrier
# changes on any managed link; ifindexes and the whole kernel state are equal before
# and after (one boot for both: the systemd tier's CI time).
# @systemd
# @vms     server-1
# @needs   n3xnetd n3xnetctl n3xnet-report
# @timeout 120
dbus_status() { busctl get-property io.n3x.Net1 /io/n3x/Net1 io.n3x.Net1 Status; }
dbus_says() { dbus_status | grep -q "$1"; }
WATCH=$OUT/files/watch.out MONITOR=$OUT/files/monitor.out
watch_says() { grep -q "$1" "$WATCH"; }
monitor_says() { grep -q "$1" "$MONITOR"; }

wait_for 40 systemctl is-active --quiet n3xnetd.service
wait_for 10 dbus_says "online: cluster ok"
capture status-before 0 n3xnetctl status --json
n3xnetctl status --watch --json > "$WATCH" 2>&1 &
watcher=$!
busctl monitor --match "type='signal',path='/io/n3x/Net1',interface='org.freedesktop.DBus.Properties'" \
  > "$MONITOR" 2>&1 &
monitor=$!
wait_for 20 watch_says "online: cluster ok"
wait_for 10 monitor_says "Monitoring bus message stream"

_now; t0=$NOW_MS
host_link eth1 down
wait_for -s "$t0" 10 monitor_says "bond0: eth1 down"
metric pull_to_dbus_ms "$WAITED_MS"
wait_for -s "$t0" 10 watch_says "bond0: eth1 down"
metric pull_to_status_watch_ms "$WAITED_MS"
capture status-pulled 0 n3xnetctl status --json
capture dbus-pulled 0 dbus_status
checkpoint pulled

_now; t0=$NOW_MS
host_link eth1 up
wait_for -s "$t0" 10 dbus_says "online: cluster ok, storage ok"
metric plug_to_dbus_ms "$WAITED_MS"
capture status-restored 0 n3xnetctl status --json
kill "$watcher" "$monitor"

LINKS="eth1 eth2 bond0 bond0.100 bond0.200"
counters() {
  for l in $LINKS; do echo "$l carrier_changes $(cat "/sys/class/net/$l/carrier_changes")"; done
  grep -e "^Slave Interface" -e "^Link Failure Count" /proc/net/bonding/bond0
}
wait_for 10 bond_active_is bond0 eth1
pid=$(systemctl show -p MainPID --value n3xnetd.service)
counters > "$OUT/files/counters-before"
checkpoint before
capture statusfile-before 0 cat /run/n3xnet/status.json

capture restart 0 systemctl restart n3xnetd.service
new=$(systemctl show -p MainPID --value n3xnetd.service)
[ "$new" != "$pid" ] || fail "MainPID unchanged ($pid) across the restart"
assert_eq active "$(systemctl show -p ActiveState --value n3xnetd.service)" "after restart"
capture statusfile-after 0 cat /run/n3xnet/status.json
counters > "$OUT/files/counters-after"
checkpoint after
assert_eq "$(cat "$OUT/files/counters-before")" "$(cat "$OUT/files/counters-after")" \
  "carrier changes and bond link failure counts across the restart"
