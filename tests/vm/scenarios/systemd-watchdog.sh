# A stalled event loop is killed by systemd's watchdog and restarted (issue #5 item 4):
# WatchdogSec=3s (drop-in), the daemon is SIGSTOPped: systemd ends it with
# Result=watchdog, restarts it (Restart=on-failure, RestartSec=2s) and the new process
# becomes active again.
# @systemd
# @vms     server-1
# @needs   n3xnetd n3xnetctl n3xnet-report
# @timeout 120
wait_for 40 systemctl is-active --quiet n3xnetd.service
pid=$(systemctl show -p MainPID --value n3xnetd.service)
assert_eq 0 "$(systemctl show -p NRestarts --value n3xnetd.service)" "NRestarts before"
# The loop pings at half the period: idle for longer than the period must not trip it.
_now; t_idle=$NOW_MS
idle_4s() { [ $(( $(now_ms) - t_idle )) -ge 4000 ]; }
wait_for 6 idle_4s
assert_eq active "$(systemctl show -p ActiveState --value n3xnetd.service)" "idle n3xnetd"
kill -STOP "$pid"
_now; t0=$NOW_MS
result_is() { [ "$(systemctl show -p Result --value n3xnetd.service)" = "$1" ]; }
restarts_are() { [ "$(systemctl show -p NRestarts --value n3xnetd.service)" = "$1" ]; }
wait_for -s "$t0" 10 result_is watchdog
metric stop_to_watchdog_ms "$WAITED_MS"
wait_for 20 restarts_are 1
wait_for 40 systemctl is-active --quiet n3xnetd.service
new=$(systemctl show -p MainPID --value n3xnetd.service)
[ "$new" != "$pid" ] || fail "MainPID still $pid after the watchdog"
[ ! -e "/proc/$pid" ] || fail "the stalled process $pid is still there"
capture n3xnetd 0 systemctl show n3xnetd.service
