# shellcheck shell=sh disable=SC2154  # $etc, $VM_NAME: set by guest/systemd-root.sh
# Boot hook of systemd-networkd-diff: both VMs are node server-1 and start nothing at
# boot (the scenario starts the services, timed). Both run udev, as a real node does
# (networkd configures a link only once udev has initialized it, and udev's .link
# policies apply to the links n3xnetd creates too); the networkd VM unmasks networkd.
rm -f "$etc/systemd/system/multi-user.target.wants/n3xnetd.service" \
  "$etc/systemd/system/network-online.target.requires/n3xnet-wait-online.service"
sed -i 's/^node = .*/node = "server-1"/' "$etc/n3xnet/n3xnet.toml"
for u in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
    systemd-udev-trigger.service systemd-hwdb-update.service; do
  rm -f "$etc/systemd/system/$u"
done
if [ "$VM_NAME" = networkd ]; then
  for u in systemd-networkd.service systemd-networkd.socket \
      systemd-networkd-wait-online.service; do
    rm -f "$etc/systemd/system/$u"
  done
fi
