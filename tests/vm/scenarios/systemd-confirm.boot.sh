# shellcheck shell=sh disable=SC2154  # $etc: set by guest/systemd-root.sh
# Boot hook of systemd-confirm: both nodes are declared servers, as two k3s servers of
# one cluster are. bonding-vlans names no roles, so on server-1 (serverApi's host:
# it would only reach itself) `--confirm-when reachable` would find nothing to check and
# refuse; with server-2 a server, it checks server-2's API, 192.168.200.2:6443 — the
# default target resolution is part of what the scenario proves.
cat >> "$etc/n3xnet/profile.toml" <<'EOT'

[nodes.server-1]
role = "server"

[nodes.server-2]
role = "server"
EOT
