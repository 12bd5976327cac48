# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_n3xnetctl_global_optspecs
    string join \n h/help V/version
end

function __fish_n3xnetctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_n3xnetctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_n3xnetctl_using_subcommand
    set -l cmd (__fish_n3xnetctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -s V -l version -d 'Print version'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "validate" -d 'Check profiles and report every problem at once (exit 0 valid, 65 invalid, 66 unreadable)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "k3s-flags" -d 'Print the k3s flags that agree with the node\'s network (n3x\'s rule)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "render" -d 'Render the profile for other tools: systemd-networkd, Multus, or the desired state'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "plan" -d 'Show what apply would change (exit 0 nothing to do, 2 changes pending)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "apply" -d 'Apply the profile to this node, all or nothing, one writer at a time (exit 0 applied or in sync, 1 rolled back, 75 another writer holds the namespace, 79 n3xnetd supervises it with another profile, 80 a confirmed change is pending)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "check" -d 'Compare the kernel with the profile, attribute by attribute (exit 0 in sync, 1 drift)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "status" -d 'Show the node\'s network: n3xnetd\'s health and drift over D-Bus when it runs, and the kernel\'s links, bond ports and LACP state, addresses and routes'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "pause" -d 'Ask n3xnetd to stop repairing drift (it still reports it) until `resume` (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "resume" -d 'Ask n3xnetd to repair again, reconciling now (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "reload" -d 'Ask n3xnetd to re-read its configuration and profile (exit 65: invalid, old one kept; 80 a confirmed change is pending) (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "confirm" -d 'Keep the pending confirmed change, n3xnetctl apply\'s or n3xnetd\'s (exit 81: none pending, it was reverted) (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "rollback" -d 'Revert the pending confirmed change now, n3xnetctl apply\'s (also when its watcher is gone) or n3xnetd\'s (exit 81: none pending) (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "reconcile" -d 'Ask n3xnetd to apply the profile now, whatever the drift policy and backoff (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "wait-online" -d 'Wait until n3xnetd says the node is online (exit 0), or fail naming what blocks it (exit 1 on timeout)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "watch-change" -d 'The watcher of `apply --confirm-within`\'s change (started by it, detached)'
complete -c n3xnetctl -n "__fish_n3xnetctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand validate" -s n -l node -d 'Also require this node to be in each profile' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand validate" -l json -d 'Print the result as JSON'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand validate" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand k3s-flags" -s p -l profile -d 'Profile file (TOML, or JSON by the .json extension)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand k3s-flags" -s n -l node -d 'Node to act for (default: this machine\'s hostname)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand k3s-flags" -l role -d 'The node\'s k3s role (default: `nodes.<node>.role` of the profile)' -r -f -a "server\t''
agent\t''"
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand k3s-flags" -l format -d '`args` (n3x\'s extraFlags), `env` (/etc/default/k3s-*), `config` (config.yaml.d drop-in)' -r -f -a "args\t''
env\t''
config\t''"
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand k3s-flags" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and not __fish_seen_subcommand_from networkd multus desired node help" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and not __fish_seen_subcommand_from networkd multus desired node help" -f -a "networkd" -d 'systemd-networkd .netdev/.network files for one node, in n3x\'s layout'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and not __fish_seen_subcommand_from networkd multus desired node help" -f -a "multus" -d 'The Multus NetworkAttachmentDefinitions (YAML) of the profile; with --node and --out, instead that node\'s CNI config files (<nad>.conf) of its ipam = "node-pools" networks, for Multus\' confDir (n3x: /etc/cni/multus/net.d)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and not __fish_seen_subcommand_from networkd multus desired node help" -f -a "desired" -d 'The resolved desired network of one node, as JSON (what plan/apply act on)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and not __fish_seen_subcommand_from networkd multus desired node help" -f -a "node" -d 'Everything one node needs beside the n3xnet package, as a root-like tree under DIR: etc/n3xnet/{n3xnet.toml,profile.*}, the k3s flags (etc/default/k3s-<role>, etc/rancher/k3s/config.yaml.d/50-n3xnet.yaml), and the symlinks enabling n3xnetd and n3xnet-wait-online and masking systemd-networkd. Nothing is written unless the profile is valid for the node'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and not __fish_seen_subcommand_from networkd multus desired node help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from networkd" -s p -l profile -d 'Profile file (TOML, or JSON by the .json extension)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from networkd" -s n -l node -d 'Node to act for (default: this machine\'s hostname)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from networkd" -l out -d 'Directory to write into (created; other files in it are left alone)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from networkd" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from multus" -s p -l profile -d 'Profile file (TOML, or JSON by the .json extension)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from multus" -s n -l node -d 'The node whose CNI config files to write' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from multus" -l out -d 'Directory to write the node\'s files into (created; other files are left alone)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from multus" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from desired" -s p -l profile -d 'Profile file (TOML, or JSON by the .json extension)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from desired" -s n -l node -d 'Node to act for (default: this machine\'s hostname)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from desired" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from node" -s p -l profile -d 'Profile file (TOML, or JSON by the .json extension); copied as is' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from node" -s n -l node -d 'The node to render (required: the tree is for another machine, whose name this one\'s hostname says nothing about)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from node" -l role -d 'The node\'s k3s role (default: `nodes.<node>.role` of the profile)' -r -f -a "server\t''
agent\t''"
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from node" -l out -d 'Root of the tree (created; files it does not render are left alone)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from node" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from help" -f -a "networkd" -d 'systemd-networkd .netdev/.network files for one node, in n3x\'s layout'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from help" -f -a "multus" -d 'The Multus NetworkAttachmentDefinitions (YAML) of the profile; with --node and --out, instead that node\'s CNI config files (<nad>.conf) of its ipam = "node-pools" networks, for Multus\' confDir (n3x: /etc/cni/multus/net.d)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from help" -f -a "desired" -d 'The resolved desired network of one node, as JSON (what plan/apply act on)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from help" -f -a "node" -d 'Everything one node needs beside the n3xnet package, as a root-like tree under DIR: etc/n3xnet/{n3xnet.toml,profile.*}, the k3s flags (etc/default/k3s-<role>, etc/rancher/k3s/config.yaml.d/50-n3xnet.yaml), and the symlinks enabling n3xnetd and n3xnet-wait-online and masking systemd-networkd. Nothing is written unless the profile is valid for the node'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand render; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand plan" -s p -l profile -d 'Profile file (TOML, or JSON by the .json extension)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand plan" -s n -l node -d 'Node to act for (default: this machine\'s hostname)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand plan" -l netns -d 'Act inside the named network namespace (/run/netns/NAME)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand plan" -l json -d 'Print the result as JSON'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand plan" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -s p -l profile -d 'Profile file (TOML, or JSON by the .json extension)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -s n -l node -d 'Node to act for (default: this machine\'s hostname)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l netns -d 'Act inside the named network namespace (/run/netns/NAME)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l wait -d 'While another writer (n3xnetctl, n3xnetd) holds the namespace, wait up to SECS seconds for it, then exit 75 (0: do not wait)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l runtime-dir -d 'n3xnetd\'s runtime directory (where its status.json is)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l confirm-within -d 'Make the apply a confirmed change (on a node n3xnetd does not supervise): it reverts to the exact kernel state before it unless `n3xnetctl confirm` (or --confirm-when) keeps it within DURATION (`90s`, `2min`). Its undo log is journalled on disk before the first write, and a detached watcher reverts it even if this session is gone' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l confirm-when -d 'What keeps the change besides `n3xnetctl confirm`: `reachable` (the profile\'s serverApi, or a peer server\'s, answering TCP, and its gateway answering ARP) or `reachable=HOST:PORT`' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l state-dir -d 'The state directory holding the confirmed change\'s journal (n3xnetd\'s StateDirectory)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l json -d 'Print the result as JSON'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l no-wait -d 'Exit 75 at once while another writer holds the namespace'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -l force -d 'Apply even though n3xnetd supervises the namespace with another profile and is not paused (an enforcing n3xnetd repairs it back)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand apply" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand check" -s p -l profile -d 'Profile file (TOML, or JSON by the .json extension)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand check" -s n -l node -d 'Node to act for (default: this machine\'s hostname)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand check" -l netns -d 'Act inside the named network namespace (/run/netns/NAME)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand check" -l json -d 'Print the result as JSON'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand check" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand status" -l netns -d 'Act inside the named network namespace (/run/netns/NAME)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand status" -l report-dir -d 'n3xnet-report\'s runtime directory: its report.json (Kubernetes feedback, NFD and Prometheus files) is shown with n3xnetd\'s status' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand status" -l state-dir -d 'The state directory holding the confirmed change\'s journal (n3xnetd\'s StateDirectory)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand status" -l json -d 'Print the result as JSON'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand status" -l watch -d 'Follow n3xnetd\'s health: the current one, then a line per change (with --json one JSON object per line) until interrupted. Needs a running n3xnetd (exit 69 otherwise)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand status" -l kernel -d 'Read the kernel only, even when n3xnetd runs'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand pause" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand resume" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand reload" -l confirm-within -d 'Make the reload a confirmed change: n3xnetd reverts to the profile it ran before unless `n3xnetctl confirm` (or --confirm-when) keeps it within DURATION (`90s`, `2min`, `500ms`). The change is journalled on disk first, so a crash or reboot reverts it too' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand reload" -l confirm-when -d 'What keeps the change besides `n3xnetctl confirm`: `reachable` (the profile\'s serverApi, or a peer server\'s, answering TCP, and its gateway answering ARP) or `reachable=HOST:PORT`' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand reload" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand confirm" -l state-dir -d 'The state directory holding the confirmed change\'s journal (n3xnetd\'s StateDirectory)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand confirm" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand rollback" -l state-dir -d 'The state directory holding the confirmed change\'s journal (n3xnetd\'s StateDirectory)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand reconcile" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand wait-online" -l timeout -d 'Give up after SECS seconds (0: wait forever)' -r
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand wait-online" -l runtime-dir -d 'n3xnetd\'s runtime directory (where its status.json is)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand wait-online" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand watch-change" -l state-dir -d 'The state directory holding the confirmed change\'s journal (n3xnetd\'s StateDirectory)' -r -F
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand watch-change" -s h -l help -d 'Print help'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "validate" -d 'Check profiles and report every problem at once (exit 0 valid, 65 invalid, 66 unreadable)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "k3s-flags" -d 'Print the k3s flags that agree with the node\'s network (n3x\'s rule)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "render" -d 'Render the profile for other tools: systemd-networkd, Multus, or the desired state'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "plan" -d 'Show what apply would change (exit 0 nothing to do, 2 changes pending)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "apply" -d 'Apply the profile to this node, all or nothing, one writer at a time (exit 0 applied or in sync, 1 rolled back, 75 another writer holds the namespace, 79 n3xnetd supervises it with another profile, 80 a confirmed change is pending)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "check" -d 'Compare the kernel with the profile, attribute by attribute (exit 0 in sync, 1 drift)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "status" -d 'Show the node\'s network: n3xnetd\'s health and drift over D-Bus when it runs, and the kernel\'s links, bond ports and LACP state, addresses and routes'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "pause" -d 'Ask n3xnetd to stop repairing drift (it still reports it) until `resume` (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "resume" -d 'Ask n3xnetd to repair again, reconciling now (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "reload" -d 'Ask n3xnetd to re-read its configuration and profile (exit 65: invalid, old one kept; 80 a confirmed change is pending) (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "confirm" -d 'Keep the pending confirmed change, n3xnetctl apply\'s or n3xnetd\'s (exit 81: none pending, it was reverted) (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "rollback" -d 'Revert the pending confirmed change now, n3xnetctl apply\'s (also when its watcher is gone) or n3xnetd\'s (exit 81: none pending) (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "reconcile" -d 'Ask n3xnetd to apply the profile now, whatever the drift policy and backoff (root)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "wait-online" -d 'Wait until n3xnetd says the node is online (exit 0), or fail naming what blocks it (exit 1 on timeout)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "watch-change" -d 'The watcher of `apply --confirm-within`\'s change (started by it, detached)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and not __fish_seen_subcommand_from validate k3s-flags render plan apply check status pause resume reload confirm rollback reconcile wait-online watch-change help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and __fish_seen_subcommand_from render" -f -a "networkd" -d 'systemd-networkd .netdev/.network files for one node, in n3x\'s layout'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and __fish_seen_subcommand_from render" -f -a "multus" -d 'The Multus NetworkAttachmentDefinitions (YAML) of the profile; with --node and --out, instead that node\'s CNI config files (<nad>.conf) of its ipam = "node-pools" networks, for Multus\' confDir (n3x: /etc/cni/multus/net.d)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and __fish_seen_subcommand_from render" -f -a "desired" -d 'The resolved desired network of one node, as JSON (what plan/apply act on)'
complete -c n3xnetctl -n "__fish_n3xnetctl_using_subcommand help; and __fish_seen_subcommand_from render" -f -a "node" -d 'Everything one node needs beside the n3xnet package, as a root-like tree under DIR: etc/n3xnet/{n3xnet.toml,profile.*}, the k3s flags (etc/default/k3s-<role>, etc/rancher/k3s/config.yaml.d/50-n3xnet.yaml), and the symlinks enabling n3xnetd and n3xnet-wait-online and masking systemd-networkd. Nothing is written unless the profile is valid for the node'
