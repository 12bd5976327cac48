# Names the NICs eth0..ethN after the MACs the host gave them ($VM_NICS from vm.env),
# whatever order the virtio-mmio devices were probed in. Sourced by runner.sh and, for
# @systemd guests, by systemd-root.sh before systemd starts (n3xnetd must find eth1/eth2
# at boot). Two passes so a name swap cannot collide.
# shellcheck shell=sh
i=0
for pair in $VM_NICS; do
  want=${pair%%=*} addr=${pair#*=}
  for d in /sys/class/net/*; do
    [ -e "$d/address" ] || continue  # bonding_masters
    if [ "$(cat "$d/address")" = "$addr" ] && [ "${d##*/}" != "$want" ]; then
      ip2 link set dev "${d##*/}" name "n3xtmp$i"
    fi
  done
  i=$((i + 1))
done
i=0
for pair in $VM_NICS; do
  [ -e "/sys/class/net/n3xtmp$i" ] && ip2 link set dev "n3xtmp$i" name "${pair%%=*}"
  i=$((i + 1))
done
