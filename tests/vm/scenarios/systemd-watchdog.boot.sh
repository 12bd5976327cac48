# shellcheck shell=sh disable=SC2154  # $etc, $VM_NAME: set by guest/systemd-root.sh
# Boot hook of systemd-watchdog: a short watchdog so a stalled loop is found fast.
mkdir -p "$etc/systemd/system/n3xnetd.service.d"
cat > "$etc/systemd/system/n3xnetd.service.d/watchdog.conf" <<'EOT'
[Service]
WatchdogSec=3s
TimeoutAbortSec=5s
EOT
