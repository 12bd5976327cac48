# shellcheck shell=sh disable=SC2154  # $etc, $VM_NAME: set by guest/systemd-root.sh
# Boot hook of systemd-boot (sourced by systemd-root.sh with $etc = the new root's /etc):
# record the kernel and the unit's state when systemd runs ExecStartPost=, i.e. right
# after READY=1 and before the unit counts as active.
mkdir -p "$etc/systemd/system/n3xnetd.service.d"
cat > "$etc/systemd/system/n3xnetd.service.d/at-ready.conf" <<'EOT'
[Service]
ExecStartPost=+/usr/local/lib/n3x/busybox sh /mnt/repo/tests/vm/guest/checkpoint.sh at-ready
ExecStartPost=+/bin/sh -c 'f=/mnt/out/files/at-ready; systemctl show -p ActiveState -p SubState n3xnetd.service >$f.out 2>$f.err; echo $? >$f.rc'
EOT
