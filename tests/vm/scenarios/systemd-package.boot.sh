# shellcheck shell=sh disable=SC2154  # $ROOT, $etc: set by guest/systemd-root.sh
# Boot hook of systemd-package: the node before n3xnet, as the package finds it. Nothing
# of n3xnet is installed (systemd-root.sh installs the repo's units, files and
# n3xnet.toml for the other scenarios; the package brings its own), and
# systemd-networkd is enabled and running, as on an n3x node today.
rm -f "$ROOT/usr/sbin/n3xnetd" "$ROOT/usr/bin/n3xnetctl" "$ROOT/usr/sbin/n3xnet-report" \
  "$etc/systemd/system/n3xnetd.service" "$etc/systemd/system/n3xnet-wait-online.service" \
  "$etc/systemd/system/n3xnet-report.service" \
  "$etc/systemd/system/n3xnetd.service.wants/n3xnet-report.service" \
  "$etc/systemd/system/multi-user.target.wants/n3xnetd.service" \
  "$etc/systemd/system/network-online.target.requires/n3xnet-wait-online.service" \
  "$etc/modprobe.d/n3xnet.conf" "$etc/modules-load.d/n3xnet.conf" \
  "$etc/dbus-1/system.d/io.n3x.Net1.conf"
rm -rf "$etc/n3xnet"
# networkd without its wait-online (no link of this VM is configured for it, so that
# would wait 2 min for nothing): active, owning nothing.
rm -f "$etc/systemd/system/systemd-networkd.service" "$etc/systemd/system/systemd-networkd.socket"
mkdir -p "$etc/systemd/system/sockets.target.wants"
ln -sf /lib/systemd/system/systemd-networkd.service \
  "$etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
ln -sf /lib/systemd/system/systemd-networkd.socket \
  "$etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
