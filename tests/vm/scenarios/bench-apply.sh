# Benchmark (issue #4 item 3; numbers, not pass/fail; opt-in: `tests/vm/run bench-apply`):
# in one boot, time `n3xnetctl apply` of bonding-vlans and of bonding-vlans + N macvlan
# shims on bond0 (N = 10, 100, 1000: the profile format has only two VLANs per node, the
# multus table takes any number of host shims, each a link plus an address) against
# `ip -batch` of the same links and addresses (without the address protocol 110: the
# guest's iproute2 6.1 cannot set it); then a second apply, which must write
# nothing. Between runs bond0 is deleted (its VLANs and shims go with it).
# Metrics: ctl_ms_N / batch_ms_N (wall, binary start included), ctl_apply_ms_N (apply's
# own totalMs), ratio_N (ctl/batch), us_per_obj_ctl_N / _batch_N; N=0 is bonding-vlans.
# @vms     server-1
# @needs   n3xnetctl
# @timeout 600
# @bench
profile() {  # profile N: bonding-vlans + N macvlan shims, each in its own /24
  cat profiles/bonding-vlans.toml
  awk -v n="$1" 'BEGIN { for (k = 1; k <= n; k++) { a = 100 + int(k / 256); b = k % 256
    printf "\n[multus.n%d]\ntype = \"macvlan\"\nmaster = \"bond0\"\nsubnet = \"10.%d.%d.0/24\"\n", k, a, b
    printf "rangeStart = \"10.%d.%d.10\"\nrangeEnd = \"10.%d.%d.250\"\n", a, b, a, b
    printf "hostAddresses = { server-1 = \"10.%d.%d.1\" }\n", a, b } }'
}

batch() {  # batch N: what apply does for profile N, as iproute2 commands
  cat <<'EOB'
link set eth1 addrgenmode none
link set eth2 addrgenmode none
link add bond0 type bond mode active-backup miimon 100 updelay 200 downdelay 200 primary_reselect always
link set bond0 alias n3xnet addrgenmode none
link set eth1 down
link set eth1 master bond0
link set eth2 down
link set eth2 master bond0
link set bond0 type bond primary eth1
link set bond0 up
link set eth1 up
link set eth2 up
link add link bond0 name bond0.200 type vlan id 200
link set bond0.200 alias n3xnet addrgenmode none up
addr add 192.168.200.1/24 dev bond0.200
link add link bond0 name bond0.100 type vlan id 100
link set bond0.100 alias n3xnet addrgenmode none up
addr add 192.168.100.1/24 dev bond0.100
EOB
  awk -v n="$1" 'BEGIN { for (k = 1; k <= n; k++) { a = 100 + int(k / 256); b = k % 256
    printf "link add link bond0 name mv-n%d type macvlan mode bridge\n", k
    printf "link set mv-n%d alias n3xnet addrgenmode none up\n", k
    printf "addr add 10.%d.%d.1/24 dev mv-n%d\n", a, b, k } }'
}

reset_node() {
  ip2 link del bond0
  for p in eth1 eth2; do ip2 link set $p down addrgenmode eui64; done
}

# ms: run CMD..., set MS to its wall time (10 ms resolution).
ms() { _now; _t=$NOW_MS; "$@"; _now; MS=$((NOW_MS - _t)); }

cp /mnt/bin/n3xnetctl /tmp/n3xnetctl  # time apply, not 9p reads of the binary
for n in 0 10 100 1000; do
  profile $n > /tmp/p$n.toml
  batch $n > /tmp/b$n.ip
  objs=$((7 + 2 * n))  # 2 ports, bond, 2 VLANs, 2 addresses; per shim a link + an address
  ms capture ctl-$n 0 /tmp/n3xnetctl apply --json --profile /tmp/p$n.toml
  ctl=$MS
  metric ctl_ms_$n $ctl
  metric ctl_apply_ms_$n "$(sed -n 's/.*"totalMs": \([0-9]*\).*/\1/p' "$OUT/files/ctl-$n.out")"
  ms capture again-$n 0 /tmp/n3xnetctl apply --json --profile /tmp/p$n.toml
  metric again_ms_$n $MS
  reset_node
  ms ip2 -batch /tmp/b$n.ip
  bat=$MS
  metric batch_ms_$n $bat
  reset_node
  metric ratio_$n "$(awk -v c=$ctl -v b=$bat 'BEGIN { printf "%.2f", c / (b ? b : 1) }')"
  metric us_per_obj_ctl_$n $((ctl * 1000 / objs))
  metric us_per_obj_batch_$n $((bat * 1000 / objs))
done
