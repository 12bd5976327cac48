# network-online.target is reached only once the cluster network is online (issue #5
# item 4): both bond ports' links are down from QEMU's start (@linkdown), n3xnetd
# becomes active anyway (online.timeout 1 s) saying offline, n3xnet-wait-online holds
# network-online.target and the k3s stand-in back; `n3xnetctl wait-online --timeout 1`
# fails naming the cluster network and its reason. Once the host sets eth1's link up,
# the target is reached and the stand-in starts.
# @systemd
# @vms      server-1
# @needs    n3xnetd n3xnetctl n3xnet-report
# @linkdown server-1.eth1 server-1.eth2
# @timeout  120
wait_for 40 systemctl is-active --quiet n3xnetd.service
status=$(systemctl show -p StatusText --value n3xnetd.service)
log "n3xnetd active: $status"
case $status in offline:*) ;; *) fail "StatusText '$status' does not start with offline:" ;; esac
carrier_is eth1 0 || fail "eth1 has carrier with its link down"
wait_online_is() { [ "$(systemctl show -p ActiveState --value n3xnet-wait-online.service)" = "$1" ]; }
wait_for 20 wait_online_is activating
capture wait-timeout 1 n3xnetctl wait-online --timeout 1
capture before-target any systemctl is-active network-online.target
capture before-k3s any systemctl is-active n3x-k3s-stub.service
checkpoint offline

_now; t0=$NOW_MS
host_link eth1 up
wait_for -s "$t0" 20 systemctl is-active --quiet network-online.target
metric link_up_to_online_ms "$WAITED_MS"
wait_for 10 systemctl is-active --quiet n3x-k3s-stub.service
capture wait-online-journal 0 journalctl -b -u n3xnet-wait-online.service --no-pager
capture wait-ok 0 n3xnetctl wait-online --timeout 1
checkpoint online
