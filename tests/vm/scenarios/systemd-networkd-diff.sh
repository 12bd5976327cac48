# Differential test (issue #5 item 8) and start-to-online timing (item 9): the same
# profile (bonding-vlans, node server-1) rendered for systemd-networkd (`n3xnetctl render
# networkd`) and run by systemd-networkd 252 in VM `networkd`, and applied by the real
# n3xnetd.service in VM `n3xnetd`, same image. Each VM starts its service and its
# wait-online unit in one `systemctl start` and waits for the kernel to settle (bond0
# on eth1, both VLAN addresses, every managed link up); the host check
# (systemd-networkd-diff.py) compares the normalized `ip -d -j link/addr/route` states.
# Metrics (systemd's own monotonic timestamps): start_to_ready_ms (the daemon's process
# start to its READY=1) and start_to_online_ms (to its wait-online unit done).
# Then, in the same boot, the dual-stack variant (issue 15): both move to
# profiles/dual-stack.toml (bonding-vlans plus fd00:200::1/64 and the link-local
# fe80::1/64 on bond0.200) the way an operator changes a running node — the re-rendered
# files and `networkctl reload`, the new profile and `systemctl reload n3xnetd` — and,
# once DAD is over, the states are compared again (checkpoint dual-stack).
# @systemd
# @vms     networkd n3xnetd
# @needs   n3xnetd n3xnetctl n3xnet-report
# @timeout 180
P=profiles/bonding-vlans.toml
if [ "$VM_NAME" = networkd ]; then
  daemon=systemd-networkd.service waiter=systemd-networkd-wait-online.service
  capture render 0 n3xnetctl render networkd --profile $P --node server-1 --out /etc/systemd/network
else
  daemon=n3xnetd.service waiter=n3xnet-wait-online.service
fi
# udev has initialized the NICs (networkd waits for that) before the clock runs.
wait_for 60 systemctl is-active --quiet systemd-udev-trigger.service
capture settle 0 udevadm settle --timeout=60
capture start 0 systemctl start "$daemon" "$waiter"
prop() { systemctl show -p "$2" --value "$1"; }
t_start=$(prop "$daemon" ExecMainStartTimestampMonotonic)
t_ready=$(prop "$daemon" ActiveEnterTimestampMonotonic)
t_online=$(prop "$waiter" ActiveEnterTimestampMonotonic)
metric start_to_ready_ms $(( (t_ready - t_start) / 1000 ))
metric start_to_online_ms $(( (t_online - t_start) / 1000 ))

addr_is() { ip2 -4 -o addr show dev "$1" | grep -q " $2 "; }
settled() {
  wait_for 20 bond_active_is bond0 eth1
  wait_for 20 addr_is bond0.200 192.168.200.1/24
  wait_for 20 addr_is bond0.100 192.168.100.1/24
  for l in eth1 eth2 bond0 bond0.100 bond0.200; do wait_for 20 oper_up "$l"; done
  wait_for 20 bond_settled bond0
}
settled
checkpoint online

P=profiles/dual-stack.toml
if [ "$VM_NAME" = networkd ]; then
  capture render-dual-stack 0 n3xnetctl render networkd --profile $P --node server-1 \
    --out /etc/systemd/network
  capture reload 0 networkctl reload
else
  cp $P /etc/n3xnet/profile.toml
  capture reload 0 systemctl reload n3xnetd.service
fi
wait_for 20 v6_ready bond0.200 fd00:200::1/64 fe80::1/64
settled
checkpoint dual-stack
barrier compared
