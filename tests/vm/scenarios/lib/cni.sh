# CNI plugins executed as Multus executes them (sourced; not a scenario itself).
# shellcheck shell=sh

# cni NAD POD CMD: runs the plugin of /tmp/net.d/NAD.conf (written by `n3xnetctl render
# multus --node --out /tmp/net.d`) for the pod netns POD: CNI_* in the environment, the
# node's config on stdin, the result JSON on stdout. Plugins: `# @needs cni/<plugin>`.
cni() {
  _type=$(sed -n 's/^  "type": "\(.*\)",$/\1/p' "/tmp/net.d/$1.conf")
  CNI_COMMAND=$3 CNI_CONTAINERID="$2-$1" CNI_NETNS="/run/netns/$2" CNI_IFNAME="net-$1" \
    CNI_PATH=/mnt/bin/cni "/mnt/bin/cni/$_type" < "/tmp/net.d/$1.conf"
}

# cni_add NAD POD ADDRESS: ADD, and the result and the pod's interface both hold ADDRESS
# (a.b.c.d/len).
cni_add() {
  cni "$1" "$2" ADD > "/tmp/$1-$2.result" || fail "$1 ADD: $(cat "/tmp/$1-$2.result")"
  grep -q '"cniVersion": *"0.4.0"' "/tmp/$1-$2.result" || fail "$1: $(cat "/tmp/$1-$2.result")"
  grep -q "\"address\": *\"$3\"" "/tmp/$1-$2.result" ||
    fail "$1: expected $3 from this node's slice: $(cat "/tmp/$1-$2.result")"
  ip2 -n "$2" -4 addr show dev "net-$1" | grep -q "inet $3 " || fail "$1: $3 not on net-$1"
}
