# shellcheck shell=sh disable=SC2154  # $ROOT, $etc: set by guest/systemd-root.sh
# Boot hook of systemd-package-boot: the image an n3x Debian build makes, made here
# before systemd starts: none of the repo's n3xnet files (systemd-root.sh installed
# them for the other scenarios), then the package installed into the root and the
# node's files from `n3xnetctl render node --out /` (what n3x's ISAR layer ships).
rm -f "$ROOT/usr/sbin/n3xnetd" "$ROOT/usr/bin/n3xnetctl" "$ROOT/usr/sbin/n3xnet-report" \
  "$etc/systemd/system/n3xnetd.service" "$etc/systemd/system/n3xnet-wait-online.service" \
  "$etc/systemd/system/n3xnet-report.service" \
  "$etc/systemd/system/n3xnetd.service.wants/n3xnet-report.service" \
  "$etc/systemd/system/multi-user.target.wants/n3xnetd.service" \
  "$etc/systemd/system/network-online.target.requires/n3xnet-wait-online.service" \
  "$etc/modprobe.d/n3xnet.conf" "$etc/modules-load.d/n3xnet.conf" \
  "$etc/dbus-1/system.d/io.n3x.Net1.conf" \
  "$etc/systemd/system/systemd-networkd.service" "$etc/systemd/system/systemd-networkd.socket" \
  "$etc/systemd/system/systemd-networkd-wait-online.service"
rm -rf "$etc/n3xnet"
# As a Debian image has it before n3xnet: networkd enabled.
mkdir -p "$etc/systemd/system/sockets.target.wants" "$etc/systemd/system/network-online.target.wants"
ln -sf /lib/systemd/system/systemd-networkd.service \
  "$etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
ln -sf /lib/systemd/system/systemd-networkd.socket \
  "$etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
ln -sf /lib/systemd/system/systemd-networkd-wait-online.service \
  "$etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"
# The shares are under $ROOT/mnt by now; the output is the host's to read on a failure.
out=$ROOT/mnt/out/files
mkdir -p "$out"
chroot "$ROOT" /usr/bin/dpkg -i /mnt/bin/n3xnet.deb > "$out/boot-install.out" 2>&1
chroot "$ROOT" /usr/bin/n3xnetctl render node \
  --profile /usr/share/n3xnet/profiles/bonding-vlans.toml --node server-1 --role server \
  --out / > "$out/boot-render.out" 2>&1
