# The real n3xnetd.service under systemd as PID 1 (issue #5 item 4): started at boot on
# a bonding-vlans node (server-1, profile and n3xnet.toml installed by systemd-root.sh).
# At READY (ExecStartPost, systemd-boot.boot.sh) the unit is still `activating` and the
# kernel already has bond0 with its VLANs and addresses; then it is active with the
# health summary as StatusText; network-online.target is reached through
# n3xnet-wait-online.service, after n3xnetd, and only then does the k3s stand-in start
# (timestamps checked in systemd-boot.py). `systemd-analyze security` scores the unit.
# @systemd
# @vms     server-1
# @needs   n3xnetd n3xnetctl
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
