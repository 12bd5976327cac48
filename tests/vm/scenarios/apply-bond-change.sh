# Parameter change on a live bond (issue #4 e; systemd-networkd cannot do this): from
# bonding-vlans (miimon 100, delays 200), apply bond-timing.toml (miimon 250, updelay 750,
# downdelay 250): the kernel shows the new values, the ports are never released (an
# `ip monitor link` running across the apply sees no port leave bond0) and nothing is
# recreated. Then lacp-vlan.toml: active-backup -> 802.3ad, which the kernel allows only
# on an empty, down bond; bond0 and its VLANs keep their ifindexes and addresses.
# @vms     server-1
# @needs   n3xnetctl
# @timeout 120
T=tests/vm/profiles
capture apply 0 n3xnetctl apply --profile profiles/bonding-vlans.toml
wait_for 5 bond_active_is bond0 eth1
checkpoint miimon100

# Every link event during the miimon apply. A new eth0 MTU per try (notified even on a
# down link) until the monitor prints it proves it listens: it may start after a try.
monitor_saw() {
  _mtu=$((1300 + $(now_ms) / 10 % 100))
  ip2 link set eth0 mtu "$_mtu"
  grep -q "eth0: .* mtu $_mtu " "$OUT/files/monitor.out"
}
ip2 -o monitor link > "$OUT/files/monitor.out" &
mon=$!
wait_for 5 monitor_saw
capture miimon 0 n3xnetctl apply --json --profile $T/bond-timing.toml
wait_for 5 monitor_saw
kill "$mon"
: > "$OUT/files/monitor.err"
echo 0 > "$OUT/files/monitor.rc"
checkpoint miimon250
capture miimon-check 0 n3xnetctl check --json --profile $T/bond-timing.toml

capture mode 0 n3xnetctl apply --json --profile $T/lacp-vlan.toml
checkpoint lacp
capture mode-check 0 n3xnetctl check --json --profile $T/lacp-vlan.toml
capture mode-again 0 n3xnetctl apply --json --profile $T/lacp-vlan.toml
