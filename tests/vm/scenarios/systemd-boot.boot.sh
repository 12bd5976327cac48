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

# n3xnet-report as a packaged node runs it: pulled in by n3xnetd's Wants= alone (the
# package and `render node` enable nothing for it), with its NFD sink in the default
# directory its unit may write, and the kubelet's credentials where k3s keeps them:
# root's, 0600 (kubeconfig and CA file; a token stands in for the client key pair, which
# would need a private key here), naming the API server on 127.0.0.1:6443. There a
# listener (busybox nc) keeps the first bytes it is sent: the reporter's TLS ClientHello
# shows it read the credentials and reached loopback through its
# IPAddressDeny=any/IPAddressAllow=localhost. The CA is a throwaway self-signed
# certificate whose key was never kept: the handshake never completes.
rm -f "$etc/systemd/system/n3xnetd.service.wants/n3xnet-report.service"
cat >> "$etc/n3xnet/n3xnet.toml" <<'EOT2'
[kubernetes]
nfdFeatureFile = "/etc/kubernetes/node-feature-discovery/features.d/n3xnet"
EOT2
mkdir -p "$etc/kubernetes/node-feature-discovery/features.d"
k3s=$ROOT/var/lib/rancher/k3s/agent
mkdir -p "$k3s"
chmod 0700 "$ROOT/var/lib/rancher/k3s" "$k3s"
(
  umask 077
  cat > "$k3s/server-ca.crt" <<'EOT2'
-----BEGIN CERTIFICATE-----
MIIBrzCCAVWgAwIBAgIUAlMV57TXNuq8vcKLVHN/Re0mvG0wCgYIKoZIzj0EAwIw
LDEqMCgGA1UEAwwhbjN4bmV0IFZNIHRlc3QgQ0EgKGtleSBkaXNjYXJkZWQpMCAX
DTI2MTIwNjE0MzkxMVoYDzIxMjYxMTEyMTQzOTExWjAsMSowKAYDVQQDDCFuM3hu
ZXQgVk0gdGVzdCBDQSAoa2V5IGRpc2NhcmRlZCkwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASsQx3oGRCB5XWM9gCjz1uYKOpUarKqiUe6Dgm4WcAlHavKk3VH42ye
EnZcZA3i2lI9s3yVjzSVbchrKXBJbtuBo1MwUTAdBgNVHQ4EFgQU2t+EeK2dinYB
l/2Prx9cRbU0K/kwHwYDVR0jBBgwFoAU2t+EeK2dinYBl/2Prx9cRbU0K/kwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAnL4aax92vf7IZ/ieBqrj
U4F2JaS1yjP78fbueOFyo7ICIHtCDI3PMaNBy2VI4I2kPa4jfCwgwXztEvDefQVI
hmyx
-----END CERTIFICATE-----
EOT2
  cat > "$k3s/kubelet.kubeconfig" <<'EOT2'
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: /var/lib/rancher/k3s/agent/server-ca.crt
users:
- name: node
  user:
    token: not-a-real-token
contexts:
- name: node
  context:
    cluster: local
    user: node
current-context: node
EOT2
)
cat > "$etc/systemd/system/n3x-apiserver-stub.service" <<'EOT2'
[Unit]
Description=listener on 127.0.0.1:6443 standing in for k3s's API server
Before=n3xnet-report.service
[Service]
ExecStart=/usr/local/lib/n3x/busybox sh -c 'mkdir -p /mnt/out/files && exec /usr/local/lib/n3x/busybox nc -l -p 6443 </dev/null >/mnt/out/files/apiserver.bytes'
EOT2
ln -sf /etc/systemd/system/n3x-apiserver-stub.service \
  "$etc/systemd/system/multi-user.target.wants/n3x-apiserver-stub.service"
