//! Golden files of the offline generators for every shipped profile and
//! node: k3s flags in all three formats, the networkd files and, for profiles
//! with Multus networks, the NetworkAttachmentDefinitions.
//!
//! Layout: `tests/golden/<profile>/<node>/k3s/{args,env,config.yaml}`,
//! `tests/golden/<profile>/<node>/networkd/<file>`,
//! `tests/golden/<profile>/<node>/multus/<nad>.conf` (node-pools slices),
//! `tests/golden/<profile>/multus.yaml` (NADs are cluster-wide).
//! `UPDATE_GOLDEN=1 cargo test --test golden_render` rewrites them; review
//! the diff by hand before committing.
//!
//! The n3x facts that matter most are also asserted explicitly below, so
//! they do not live only in files that an update could silently rewrite.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use n3xnet::kinds::Role;
use n3xnet::profile::{self, Profile};
use n3xnet::render::k3s::{self, FlagFormat};
use n3xnet::render::{multus, networkd};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

/// Shipped profiles by name (file stem), sorted.
fn shipped() -> Vec<(String, Profile)> {
    let mut paths: Vec<PathBuf> = fs::read_dir(root().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml" || x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let loaded = profile::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, loaded.profile)
        })
        .collect()
}

fn load(name: &str) -> Profile {
    let path = root().join(format!("profiles/{name}.toml"));
    profile::load(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .profile
}

/// The role a node plays: the profile's `nodes.<node>.role`, else n3x's
/// naming (`server-*` are servers, everything else agents).
fn role_of(p: &Profile, node: &str) -> Role {
    let desired = profile::resolve(p, node).unwrap_or_else(|e| panic!("{node}: {e:?}"));
    desired.role.unwrap_or(if node.starts_with("server-") {
        Role::Server
    } else {
        Role::Agent
    })
}

fn k3s_file(format: FlagFormat) -> &'static str {
    match format {
        FlagFormat::Args => "args",
        FlagFormat::Env => "env",
        FlagFormat::Config => "config.yaml",
    }
}

/// Everything the generators produce for one profile, keyed by the path
/// below `tests/golden/<profile>/`.
fn render_profile(p: &Profile) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for node in p.node_names() {
        let role = role_of(p, &node);
        for f in FlagFormat::ALL {
            let text = k3s::flags(p, &node, role, f).unwrap_or_else(|e| panic!("{node} {f}: {e}"));
            out.insert(format!("{node}/k3s/{}", k3s_file(f)), text);
        }
        let desired = profile::resolve(p, &node).unwrap();
        for file in networkd::render(&desired) {
            out.insert(format!("{node}/networkd/{}", file.name), file.contents);
        }
        for file in multus::node_configs(p, &node).unwrap() {
            out.insert(format!("{node}/multus/{}", file.name), file.contents);
        }
    }
    if !p.multus.is_empty() {
        out.insert("multus.yaml".into(), multus::render(p).unwrap());
    }
    out
}

/// Every file below `dir`, keyed by its path relative to `dir`.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn write_tree(dir: &Path, files: &BTreeMap<String, String>) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    for (rel, text) in files {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
    }
}

#[test]
fn goldens_match_for_every_shipped_profile_and_node() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let profiles = shipped();
    let names: Vec<&str> = profiles.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "simple",
        "vlans",
        "bonding-vlans",
        "dhcp-simple",
        "vlans-broken",
        "n100-bond",
        "dual-stack",
    ] {
        assert!(
            names.contains(&expected),
            "profile {expected} not shipped: {names:?}"
        );
    }
    let mut problems = Vec::new();
    for (name, p) in &profiles {
        // tests/golden/desired belongs to the profile tests.
        assert_ne!(
            name, "desired",
            "a profile named `desired` would clash with tests/golden/desired"
        );
        let dir = golden_dir().join(name);
        let rendered = render_profile(p);
        if update {
            write_tree(&dir, &rendered);
            continue;
        }
        let golden = read_tree(&dir);
        for (rel, text) in &rendered {
            match golden.get(rel) {
                None => problems.push(format!("{name}/{rel}: missing golden file")),
                Some(g) if g != text => problems.push(format!(
                    "{name}/{rel}: differs\n--- golden\n{g}--- rendered\n{text}"
                )),
                Some(_) => {}
            }
        }
        for rel in golden.keys().filter(|r| !rendered.contains_key(*r)) {
            problems.push(format!("{name}/{rel}: golden file no longer rendered"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} golden mismatch(es); rerun with UPDATE_GOLDEN=1 and review the diff:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn args(profile: &str, node: &str, role: Role) -> String {
    k3s::flags(&load(profile), node, role, FlagFormat::Args).unwrap()
}

#[test]
fn k3s_args_are_n3x_mk_extra_flags() {
    assert_eq!(
        args("vlans", "server-2", Role::Server),
        "--node-ip=192.168.200.2 --flannel-iface=eth1.200 --advertise-address=192.168.200.2 --tls-san=192.168.200.1\n"
    );
    assert_eq!(
        args("vlans", "agent-1", Role::Agent),
        "--node-ip=192.168.200.3 --flannel-iface=eth1.200\n"
    );
    assert_eq!(
        args("bonding-vlans", "server-1", Role::Server),
        "--node-ip=192.168.200.1 --flannel-iface=bond0.200 --advertise-address=192.168.200.1 --tls-san=192.168.200.1\n"
    );
    assert_eq!(
        args("simple", "agent-2", Role::Agent),
        "--node-ip=192.168.1.4 --flannel-iface=eth1\n"
    );
    // DHCP: the reserved IP.
    assert_eq!(
        args("dhcp-simple", "server-2", Role::Server),
        "--node-ip=192.168.1.2 --flannel-iface=eth1 --advertise-address=192.168.1.2 --tls-san=192.168.1.1\n"
    );
    // vlans-broken: each node's own (wrong) VLAN, as n3x's k3sExtraFlags.
    assert_eq!(
        args("vlans-broken", "agent-1", Role::Agent),
        "--node-ip=192.168.200.3 --flannel-iface=eth1.202\n"
    );
}

/// k3s's dual-stack documentation: both families in every `--node-ip`,
/// the CIDR pairs and IPv6 masquerading on servers, IPv4 advertised.
#[test]
fn k3s_args_of_a_dual_stack_cluster() {
    assert_eq!(
        args("dual-stack", "server-2", Role::Server),
        "--node-ip=192.168.200.2,fd00:200::2 --flannel-iface=bond0.200 --advertise-address=192.168.200.2 --tls-san=192.168.200.1 --cluster-cidr=10.42.0.0/16,fd00:42::/56 --service-cidr=10.43.0.0/16,fd00:43::/112 --flannel-ipv6-masq\n"
    );
    assert_eq!(
        args("dual-stack", "agent-1", Role::Agent),
        "--node-ip=192.168.200.3,fd00:200::3 --flannel-iface=bond0.200\n"
    );
}

#[test]
fn k3s_env_forms_the_cluster_from_server_1() {
    let p = load("vlans");
    let env = |node, role| k3s::flags(&p, node, role, FlagFormat::Env).unwrap();
    assert!(env("server-1", Role::Server).contains(
        "K3S_SERVER_OPTS=\"--node-ip=192.168.200.1 --flannel-iface=eth1.200 --advertise-address=192.168.200.1 --tls-san=192.168.200.1 --cluster-init\"\n"
    ));
    assert!(env("server-2", Role::Server)
        .contains("--tls-san=192.168.200.1 --server https://192.168.200.1:6443\"\n"));
    let agent = env("agent-2", Role::Agent);
    assert!(
        agent.contains("K3S_URL=\"https://192.168.200.1:6443\"\n"),
        "{agent}"
    );
    assert!(
        agent.contains("K3S_AGENT_OPTS=\"--node-ip=192.168.200.4 --flannel-iface=eth1.200\"\n"),
        "{agent}"
    );
}

fn networkd_names(profile: &str, node: &str) -> Vec<String> {
    let desired = profile::resolve(&load(profile), node).unwrap();
    networkd::render(&desired)
        .into_iter()
        .map(|f| f.name)
        .collect()
}

/// The file names n3x's Debian generator writes today.
#[test]
fn networkd_layout_is_n3x_s() {
    assert_eq!(networkd_names("simple", "server-1"), ["20-eth1.network"]);
    assert_eq!(
        networkd_names("dhcp-simple", "agent-1"),
        ["20-eth1.network"]
    );
    assert_eq!(
        networkd_names("vlans", "agent-2"),
        [
            "15-eth1.network",
            "20-vlan-cluster.netdev",
            "20-vlan-cluster.network",
            "20-vlan-storage.netdev",
            "20-vlan-storage.network"
        ]
    );
    assert_eq!(
        networkd_names("bonding-vlans", "server-2"),
        [
            "10-bond0.netdev",
            "10-eth1.network",
            "10-eth2.network",
            "15-bond0.network",
            "20-vlan-cluster.netdev",
            "20-vlan-cluster.network",
            "20-vlan-storage.netdev",
            "20-vlan-storage.network"
        ]
    );
}

fn networkd_file(profile: &str, node: &str, name: &str) -> String {
    let desired = profile::resolve(&load(profile), node).unwrap();
    networkd::render(&desired)
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{profile} {node}: no {name}"))
        .contents
}

#[test]
fn networkd_keys_follow_n3x_and_nixos() {
    let dhcp = networkd_file("dhcp-simple", "server-2", "20-eth1.network");
    assert!(
        dhcp.contains("[Network]\nDHCP=ipv4\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n"),
        "{dhcp}"
    );
    assert!(!dhcp.contains("Address="), "{dhcp}");
    let bond = networkd_file("bonding-vlans", "agent-1", "10-bond0.netdev");
    for line in [
        "Mode=active-backup\n",
        "MIIMonitorSec=100ms\n",
        "UpDelaySec=200ms\n",
        "DownDelaySec=200ms\n",
        "PrimaryReselectPolicy=always\n",
    ] {
        assert!(bond.contains(line), "{line} missing:\n{bond}");
    }
    assert!(!bond.contains("LACPTransmitRate"), "{bond}");
    assert!(networkd_file("bonding-vlans", "agent-1", "10-eth1.network")
        .contains("Bond=bond0\nPrimarySlave=true\n"));
    assert!(!networkd_file("bonding-vlans", "agent-1", "10-eth2.network").contains("PrimarySlave"));
    let trunk = networkd_file("vlans-broken", "server-2", "15-eth1.network");
    assert!(trunk.contains("VLAN=eth1.201\nVLAN=eth1.101\n"), "{trunk}");
    let vlan = networkd_file("vlans-broken", "server-2", "20-vlan-cluster.netdev");
    assert!(
        vlan.contains("Name=eth1.201\nKind=vlan\n\n[VLAN]\nId=201\n"),
        "{vlan}"
    );
    // Only the cluster interface holds up network-online.target.
    let desired = profile::resolve(&load("bonding-vlans"), "server-1").unwrap();
    for f in networkd::render(&desired)
        .iter()
        .filter(|f| f.name.ends_with(".network"))
    {
        let required = f.contents.contains("RequiredForOnline=yes\n");
        assert_eq!(required, f.name == "20-vlan-cluster.network", "{}", f.name);
        assert!(
            f.contents
                .contains("IPv6AcceptRA=no\nLinkLocalAddressing=no\n"),
            "{}",
            f.name
        );
    }
}

#[test]
fn n100_bond_carries_gateway_mtu_and_shim() {
    let trunk = networkd_file("n100-bond", "n100-2", "15-bond0.network");
    for line in [
        "MTUBytes=9000\n",
        "RequiredForOnline=yes\n",
        "Address=10.0.1.12/24\n",
        "Gateway=10.0.1.1\n",
        "VLAN=bond0.100\n",
    ] {
        assert!(trunk.contains(line), "{line} missing:\n{trunk}");
    }
    let storage = networkd_file("n100-bond", "n100-2", "20-vlan-storage.network");
    assert!(storage.contains("MACVLAN=mv-storage\n"), "{storage}");
    let shim = networkd_file("n100-bond", "n100-2", "30-mv-storage.netdev");
    assert!(
        shim.contains("Kind=macvlan\n\n[MACVLAN]\nMode=bridge\n"),
        "{shim}"
    );
    let shim = networkd_file("n100-bond", "n100-2", "30-mv-storage.network");
    assert!(shim.contains("Address=192.168.20.2/24\n"), "{shim}");
    // n100-3 is an agent by the profile's own role.
    let p = load("n100-bond");
    assert_eq!(
        k3s::flags(&p, "n100-3", Role::Agent, FlagFormat::Args).unwrap(),
        "--node-ip=10.0.1.13 --flannel-iface=bond0\n"
    );
    assert!(k3s::flags(&p, "n100-3", Role::Server, FlagFormat::Args).is_err());
    let nads = multus::render(&p).unwrap();
    assert!(
        !nads.contains("\nspec:"),
        "node-pools NAD has no spec: {nads}"
    );
    let conf = &multus::node_configs(&p, "n100-3").unwrap()[0].contents;
    assert!(conf.contains("\"type\": \"macvlan\",\n"), "{conf}");
    assert!(conf.contains("\"master\": \"bond0.100\",\n"), "{conf}");
    assert!(
        conf.contains("\"rangeStart\": \"192.168.20.218\",\n"),
        "{conf}"
    );
}

const NETWORKD: &str = "/lib/systemd/systemd-networkd";

/// Starts the real systemd-networkd on `dir` as its /etc/systemd/network, in
/// fresh mount and network namespaces (it can touch no host link), for one
/// second: long enough to load every file and log what it rejects.
fn networkd_on(dir: &Path) -> std::process::Child {
    std::process::Command::new("unshare")
        .args(["--mount", "--net", "sh", "-c"])
        .arg(
            "mount --bind \"$1\" /etc/systemd/network && mount -t tmpfs tmpfs /run && \
             exec timeout 1 \"$2\"",
        )
        .args(["sh".as_ref(), dir.as_os_str(), NETWORKD.as_ref()])
        .env("SYSTEMD_LOG_LEVEL", "info")
        .env("SYSTEMD_LOG_TARGET", "console")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// networkd's complaints about the files it loaded (they name the file).
fn networkd_complaints(child: std::process::Child) -> Vec<String> {
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.contains("/etc/systemd/network/"))
        .map(str::to_string)
        .collect()
}

/// Every rendered networkd file is accepted by the real networkd of Debian 12
/// without a single warning (unknown key, bad value, DHCPv6 notice). Needs
/// root and systemd-networkd; says so and skips otherwise.
#[test]
fn systemd_networkd_loads_every_golden_without_complaint() {
    let root_user = nix::unistd::geteuid().is_root();
    if !root_user || !Path::new(NETWORKD).exists() || !Path::new("/etc/systemd/network").is_dir() {
        // CI has all three (scripts/install-deps installs systemd): a miss there is a failure.
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty() || v == "false"),
            "CI must run this test: needs root, {NETWORKD} and /etc/systemd/network"
        );
        eprintln!("SKIPPED (not CI): needs root, {NETWORKD} and /etc/systemd/network");
        return;
    }
    // The harness must see a complaint when there is one.
    let control = tempfile::tempdir().unwrap();
    fs::write(
        control.path().join("20-x.network"),
        "[Match]\nName=x\n\n[Link]\nBogusKey=1\n",
    )
    .unwrap();
    let control_run = networkd_on(control.path());

    // What the renderer writes now (the goldens equal it when the golden
    // test passes; reading them here would race an UPDATE_GOLDEN run).
    let out = tempfile::tempdir().unwrap();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (name, p) in shipped() {
        for node in p.node_names() {
            let dir = out.path().join(&name).join(&node);
            let desired = profile::resolve(&p, &node).unwrap();
            n3xnet::render::write_dir(&dir, &networkd::render(&desired)).unwrap();
            dirs.push(dir);
        }
    }
    let runs: Vec<_> = dirs.iter().map(|d| (d, networkd_on(d))).collect();

    let seen = networkd_complaints(control_run);
    assert!(
        seen.iter().any(|l| l.contains("Unknown key 'BogusKey'")),
        "networkd harness saw no complaint about a bogus key: {seen:?}"
    );
    let mut problems = Vec::new();
    for (dir, child) in runs {
        for line in networkd_complaints(child) {
            problems.push(format!("{}: {line}", dir.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "networkd complained:\n{}",
        problems.join("\n")
    );
}
