# shellcheck shell=sh disable=SC2154  # $etc, $VM_NAME: set by guest/systemd-root.sh
# Boot hook of systemd-online: n3xnetd reports READY after 1 s even offline (its
# online.timeout), so what holds network-online.target is n3xnet-wait-online itself.
cat >> "$etc/n3xnet/n3xnet.toml" <<'EOT'

[online]
timeout = "1s"
EOT
