# PID 1 of @systemd guests until systemd takes over (exec'd by /init, busybox sh, modules
# loaded, shares mounted). Puts a tmpfs overlay on the read-only debootstrap root (9p
# share "root", tests/vm/vmharness/rootfs.py), installs this run's n3xnetd, n3xnetctl and
# n3xnet-report, the repo's unit files (enabled as their [Install] sections say), the
# kernel modules, /etc/n3xnet/n3xnet.toml (bonding-vlans for this VM's node), the
# scenario's own boot hook (scenarios/NAME.boot.sh, optional, sourced with $ROOT) and
# the test driver unit, then switch_roots to systemd. The driver (n3x-test.service,
# systemd-test.sh) runs the scenario like runner.sh does and reports VMTEST_RC.
# shellcheck shell=sh
set -u
# shellcheck source=/dev/null  # written per VM by tests/vm/run
. /mnt/out/vm.env
export PATH=/bin:/sbin

die() {
  echo "systemd-root: $*"
  echo
  echo "VMTEST_RC=97"
  poweroff -f || reboot -f
}

# The names n3xnetd's profile uses must exist when systemd starts it.
# shellcheck source=tests/vm/guest/nics.sh
. /mnt/repo/tests/vm/guest/nics.sh

ROOT=/newroot
mkdir -p /mnt/root /ovl "$ROOT"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro root /mnt/root ||
  die "cannot mount the 9p share 'root'"
mount -t tmpfs -o mode=0755 tmpfs /ovl || die "cannot mount the overlay's tmpfs"
mkdir -p /ovl/upper /ovl/work
mount -t overlay overlay -o lowerdir=/mnt/root,upperdir=/ovl/upper,workdir=/ovl/work "$ROOT" ||
  die "cannot mount the overlay root"

# In a subshell under set -e: any failure reports VMTEST_RC instead of killing PID 1.
(
set -e
for tag in repo bin out; do
  mkdir -p "$ROOT/mnt/$tag"
  mount --move "/mnt/$tag" "$ROOT/mnt/$tag"
done
# The module subset of the initramfs (loaded already); systemd-modules-load and the
# kernel's request_module look them up here.
cp -a /lib/modules "$ROOT/usr/lib/"
# The initramfs's static busybox runs the scenario, as in the other guests (its shell
# prefers its own applets: usleep, ping...); iproute2's ip is the root's own.
mkdir -p "$ROOT/usr/local/lib/n3x"
cp /bin/busybox "$ROOT/usr/local/lib/n3x/busybox"
ln -sf /usr/bin/ip "$ROOT/usr/sbin/ip2"

# Linked, not copied: the debug binaries are ~200 MB each, the overlay is in RAM.
for b in n3xnetd n3xnetctl n3xnet-report; do
  [ -e "$ROOT/mnt/bin/$b" ] || continue
  case $b in n3xnetd|n3xnet-report) dest=usr/sbin ;; *) dest=usr/bin ;; esac
  ln -sf "/mnt/bin/$b" "$ROOT/$dest/$b"
done
repo=$ROOT/mnt/repo
etc=$ROOT/etc
cp "$repo"/systemd/*.service "$etc/systemd/system/"
mkdir -p "$etc/modprobe.d" "$etc/modules-load.d" "$etc/dbus-1/system.d"
cp "$repo"/systemd/modprobe.d/*.conf "$etc/modprobe.d/"
cp "$repo"/systemd/modules-load.d/*.conf "$etc/modules-load.d/"
for f in "$repo"/systemd/dbus-1/system.d/*.conf; do
  if [ -e "$f" ]; then cp "$f" "$etc/dbus-1/system.d/"; fi
done
# `systemctl enable` by hand: a symlink per WantedBy=/RequiredBy= target.
for unit in "$repo"/systemd/*.service; do
  name=${unit##*/}
  sed -n 's/^\(WantedBy\|RequiredBy\)=\(.*\)/\1 \2/p' "$unit" | while read -r kind targets; do
    if [ "$kind" = RequiredBy ]; then suffix=requires; else suffix=wants; fi
    for t in $targets; do
      mkdir -p "$etc/systemd/system/$t.$suffix"
      ln -sf "/etc/systemd/system/$name" "$etc/systemd/system/$t.$suffix/$name"
    done
  done
done

# Units a test VM does not need: they cost seconds under TCG or wait for devices udev
# would announce (serial-getty@ttyS0 waits 90 s without udev). systemd-networkd is
# masked too: n3xnetd conflicts with it. Masked in /etc rather than on the kernel
# command line so a boot hook can unmask some (the networkd differential test).
for u in getty@tty1.service serial-getty@ttyS0.service console-getty.service \
    systemd-logind.service systemd-udevd.service systemd-udevd-control.socket \
    systemd-udevd-kernel.socket systemd-udev-trigger.service systemd-udev-settle.service \
    systemd-hwdb-update.service systemd-sysusers.service systemd-firstboot.service \
    systemd-journal-flush.service systemd-random-seed.service systemd-update-utmp.service \
    systemd-update-utmp-runlevel.service systemd-tmpfiles-clean.timer apt-daily.timer \
    apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
    ldconfig.service systemd-networkd.service systemd-networkd.socket \
    systemd-networkd-wait-online.service systemd-pstore.service systemd-binfmt.service \
    proc-sys-fs-binfmt_misc.automount sys-kernel-debug.mount sys-kernel-tracing.mount \
    dev-mqueue.mount dev-hugepages.mount sys-fs-fuse-connections.mount \
    sys-kernel-config.mount; do
  ln -sf /dev/null "$etc/systemd/system/$u"
done

echo "$VM_NAME" > "$etc/hostname"
mkdir -p "$etc/n3xnet"
cp "$repo/profiles/bonding-vlans.toml" "$etc/n3xnet/profile.toml"
cat > "$etc/n3xnet/n3xnet.toml" <<EOF
profile = "/etc/n3xnet/profile.toml"
node = "$VM_NAME"
EOF

# A stand-in for k3s: ordered after network-online.target, which it pulls in, as the
# k3s units do. The scenarios read its state to see when "online" was reached.
cat > "$etc/systemd/system/n3x-k3s-stub.service" <<'EOF'
[Unit]
Description=stand-in for k3s (After=network-online.target)
Wants=network-online.target
After=network-online.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/n3x-k3s-stub.service \
  "$etc/systemd/system/multi-user.target.wants/n3x-k3s-stub.service"

# The test driver: Type=simple (a oneshot waiting for the boot would deadlock it).
cat > "$etc/systemd/system/n3x-test.service" <<'EOF'
[Unit]
Description=n3x VM test scenario
[Service]
Type=simple
ExecStart=/usr/local/lib/n3x/busybox sh /mnt/repo/tests/vm/guest/systemd-test.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no
EOF
ln -sf /etc/systemd/system/n3x-test.service \
  "$etc/systemd/system/multi-user.target.wants/n3x-test.service"

hook=$repo/tests/vm/scenarios/$VM_SCENARIO.boot.sh
if [ -e "$hook" ]; then
  # shellcheck source=/dev/null
  . "$hook"
fi
) || die "setting up the root failed"

for fs in dev proc sys run; do
  mkdir -p "$ROOT/$fs"
  mount --move "/$fs" "$ROOT/$fs" || die "cannot move /$fs into the new root"
done
echo "systemd-root: switching to systemd; uptime $(cut -d' ' -f1 "$ROOT/proc/uptime")s"
exec switch_root "$ROOT" /sbin/init
