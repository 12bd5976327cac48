# The real n3xnetd.service under systemd as PID 1 (issue #5 item 4): started at boot on
# a bonding-vlans node (server-1, profile and n3xnet.toml installed by systemd-root.sh).
# At READY (ExecStartPost, systemd-boot.boot.sh) the unit is still `activating` and the
# kernel already has bond0 with its VLANs and addresses; then it is active with the
# health summary as StatusText; network-online.target is reached through
# n3xnet-wait-online.service, after n3xnetd, and only then does the k3s stand-in start
# (timestamps checked in systemd-boot.py). `systemd-analyze security` scores the unit.
# n3xnet-report (issue #13; systemd-boot.boot.sh sets it up): pulled in by n3xnetd's
# Wants= alone, active with no capability in any set, following n3xnetd, its NFD file
# written, the kubelet's root-only credentials read and 127.0.0.1:6443 reached through
# its IP allow list; its `systemd-analyze security` exposure at most 2.0.
# @systemd
# @vms     server-1
# @needs   n3xnetd n3xnetctl n3xnet-report
# @timeout 120
wait_for 40 systemctl is-active --quiet n3xnetd.service
checkpoint active
capture n3xnetd 0 systemctl show n3xnetd.service
log "n3xnetd active: $(systemctl show -p StatusText --value n3xnetd.service)"
wait_for 20 systemctl is-active --quiet n3x-k3s-stub.service
for u in n3xnet-wait-online.service network-online.target n3x-k3s-stub.service; do
  capture "$u" 0 systemctl show "$u"
done
capture wait-online-journal 0 journalctl -b -u n3xnet-wait-online.service --no-pager
_now; t0=$NOW_MS
capture security 0 systemd-analyze security --no-pager n3xnetd.service
_now
metric security_analyze_ms $((NOW_MS - t0))
sed 's/^/  security: /' "$OUT/files/security.out"
exposure=$(sed -n 's/.*Overall exposure level for n3xnetd.service: \([0-9.]*\).*/\1/p' "$OUT/files/security.out")
metric exposure "$exposure"

# The reporter, started because n3xnetd wants it (the boot hook removed its enable link).
wait_for 20 systemctl is-active --quiet n3xnet-report.service
rpid=$(systemctl show -p MainPID --value n3xnet-report.service)
capture report-proc-status 0 cat "/proc/$rpid/status"
nfd=/etc/kubernetes/node-feature-discovery/features.d/n3xnet
wait_for 20 grep -q '^network.n3x.io/health=ok$' "$nfd"
capture nfd-file 0 cat "$nfd"
reported() {
  grep -q '"daemonPid"' /run/n3xnet-report/report.json &&
    grep -q '"writtenAtMs"' /run/n3xnet-report/report.json
}
wait_for 20 reported
# The first bytes the reporter sent to the stand-in API server (the listener exits
# after one connection).
wait_for 30 test -s "$OUT/files/apiserver.bytes"
capture apiserver-head 0 od -An -tx1 -N3 "$OUT/files/apiserver.bytes"
capture report-json 0 cat /run/n3xnet-report/report.json
capture n3xnet-report.service 0 systemctl show n3xnet-report.service
capture report-wants 0 systemctl show -p Wants --value n3xnetd.service
capture security-report 0 systemd-analyze security --no-pager n3xnet-report.service
sed 's/^/  security: /' "$OUT/files/security-report.out"
exposure=$(sed -n 's/.*Overall exposure level for n3xnet-report.service: \([0-9.]*\).*/\1/p' \
  "$OUT/files/security-report.out")
metric exposure_report "$exposure"
