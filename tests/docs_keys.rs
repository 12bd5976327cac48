//! The hand-written pages `doc/man/n3xnet.toml.5` and
//! `doc/man/n3xnet-profile.5` document every key the code accepts, and no
//! key it does not.
//!
//! Why: those pages are the operator's reference, and the decoders refuse
//! unknown keys; a key added to the code but not to the page is a feature
//! nobody can find, a key in the page the code refuses is a broken node.
//!
//! Where the keys come from, so that a new key breaks this test until it is
//! documented:
//!
//! - n3xnet.toml: [`n3xnet::config::KNOWN_KEYS`], `ONLINE_KEYS`,
//!   `KUBERNETES_KEYS` and `PROMETHEUS_KEYS`, the lists the decoder itself refuses every other
//!   key by (and a unit test in src/config.rs checks it decodes each).
//! - the profile: a profile with every field set, written out by its own
//!   `Serialize` (the struct literals below name every field, so a new
//!   field does not compile until it is set here), plus
//!   [`n3xnet::profile::decode::LEGACY_KEYS`]; cross-checked against the
//!   decoder by reading the known keys it lists when it meets an unknown
//!   key in each table.
//!
//! A key is documented when it is the tag (the line after `.TP` or `.TQ`)
//! of an entry in the page's KEYS (FIELDS) section, written as its dotted
//! path with placeholders: `kubernetes.dataDir`, `ipAddresses.<node>.<net>`,
//! `routes[].via`; several keys may share a tag, separated by commas.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use n3xnet::kinds::{Mode, Network, Role};
use n3xnet::mac::MacAddr;
use n3xnet::profile::model::{
    BondConfig, DhcpServer, Gateways, Interfaces, MultusIpam, MultusKind, MultusNet, NetAddrs,
    NodeOverride, Profile, Reservation, RouteSpec,
};
use serde_json::Value;

fn page(name: &str) -> String {
    std::fs::read_to_string(format!("{}/doc/man/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("doc/man/{name}: {e}"))
}

/// The text of section `.SH heading`, up to the next `.SH`.
fn section<'p>(page: &'p str, heading: &str) -> &'p str {
    let start = page
        .find(&format!("\n.SH {heading}\n"))
        .unwrap_or_else(|| panic!("no .SH {heading}"));
    let rest = &page[start + 1..];
    let end = rest[1..].find("\n.SH ").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

/// Roff to plain text, enough for tags: font escapes out, `\-` a hyphen.
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => {
                chars.next();
            }
            Some('-') => out.push('-'),
            Some('&') => {}
            Some('e') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => {}
        }
    }
    out
}

/// The keys named by the tags of `text`: before any ` (`, comma separated.
fn tags(text: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut keys = BTreeSet::new();
    for pair in lines.windows(2) {
        if pair[0] == ".TP" || pair[0] == ".TQ" {
            let tag = plain(pair[1]);
            let names = tag.split(" (").next().unwrap_or_default();
            for name in names.split(',') {
                keys.insert(name.trim().to_owned());
            }
        }
    }
    keys
}

fn check(page_name: &str, heading: &str, accepted: &BTreeSet<String>, leaves: &BTreeSet<String>) {
    let documented = tags(section(&page(page_name), heading));
    let missing: Vec<&String> = leaves.difference(&documented).collect();
    let invented: Vec<&String> = documented.difference(accepted).collect();
    assert!(
        missing.is_empty() && invented.is_empty(),
        "doc/man/{page_name}, section {heading}:\n  keys the code accepts that the page does not document: {missing:?}\n  \
         keys the page documents that the code does not accept: {invented:?}\n  (documented: {documented:?})"
    );
}

#[test]
fn every_n3xnet_toml_key_is_documented() {
    use n3xnet::config::{KNOWN_KEYS, KUBERNETES_KEYS, MULTUS_KEYS, ONLINE_KEYS, PROMETHEUS_KEYS};
    let tables: BTreeMap<&str, &[&str]> = [
        ("multus", MULTUS_KEYS),
        ("online", ONLINE_KEYS),
        ("kubernetes", KUBERNETES_KEYS),
        ("prometheus", PROMETHEUS_KEYS),
    ]
    .into_iter()
    .collect();
    let mut leaves = BTreeSet::new();
    for key in KNOWN_KEYS {
        match tables.get(key) {
            Some(sub) => leaves.extend(sub.iter().map(|s| format!("{key}.{s}"))),
            None => {
                leaves.insert(key.to_string());
            }
        }
    }
    assert!(leaves.len() >= 14, "{leaves:?}");
    check("n3xnet.toml.5", "KEYS", &leaves, &leaves);
}

/// A profile with every field set; map keys are the placeholders the page
/// uses. No `..Default::default()`: a new field must be set here.
fn full_profile() -> Profile {
    let net = |s: &str| s.parse().expect("a prefix");
    let ip = |s: &str| s.parse::<Ipv4Addr>().expect("an address");
    let mac = MacAddr([0x52, 0x54, 0, 1, 1, 1]);
    let interfaces = Interfaces {
        cluster: Some("bond0.200".into()),
        storage: Some("bond0.100".into()),
        trunk: Some("bond0".into()),
        bond_members: Some(vec!["eth1".into(), "eth2".into()]),
    };
    let bond = BondConfig {
        mode: Some("802.3ad".parse().expect("mode")),
        members: Some(vec!["eth1".into(), "eth2".into()]),
        primary: Some("eth1".into()),
        miimon: Some(100),
        updelay: Some(200),
        downdelay: Some(200),
        primary_reselect: Some("always".parse().expect("primaryReselect")),
        lacp_rate: Some("fast".parse().expect("lacpRate")),
        xmit_hash_policy: Some("layer3+4".parse().expect("xmitHashPolicy")),
        min_links: Some(1),
        ad_select: Some("stable".parse().expect("adSelect")),
    };
    let route = RouteSpec {
        to: "10.50.0.0/16".parse().expect("a prefix"),
        via: Some("192.168.200.254".parse().expect("an address")),
        dev: Some("bond0.200".into()),
        metric: Some(100),
    };
    let one = |k: &str| k.to_owned();
    Profile {
        mode: Mode::Dhcp,
        ip_addresses: [(
            one("<node>"),
            [
                (Network::Cluster, v4("192.168.200.1/24")),
                (Network::Storage, v4("192.168.100.1/24")),
            ]
            .into(),
        )]
        .into(),
        interfaces: interfaces.clone(),
        vlan_ids: both_nets("200", "100"),
        bond_config: Some(bond.clone()),
        reservations: [(
            one("<node>"),
            Reservation {
                mac,
                ip: ip("192.168.200.1"),
            },
        )]
        .into(),
        dhcp_server: Some(DhcpServer {
            mac: Some(mac),
            ip: ip("192.168.200.254"),
            subnet: net("192.168.200.0/24"),
            range_start: ip("192.168.200.100"),
            range_end: ip("192.168.200.200"),
            gateway: Some(ip("192.168.200.254")),
            lease_time: "12h".into(),
        }),
        server_api: "https://192.168.200.1:6443".into(),
        cluster_cidr: "10.42.0.0/16".parse().unwrap(),
        service_cidr: "10.43.0.0/16".parse().unwrap(),
        gateway: Some(gateways()),
        mtu: [(one("<interface>"), 9000)].into(),
        routes: vec![route.clone()],
        multus: [(
            one("<nad>"),
            MultusNet {
                kind: MultusKind::Macvlan,
                master: "bond0.100".into(),
                mode: Some("bridge".into()),
                vlan_id: Some(20),
                subnet: "192.168.20.0/24".parse().unwrap(),
                range_start: Some(ip("192.168.20.10")),
                range_end: Some(ip("192.168.20.250")),
                gateway: Some(ip("192.168.20.254")),
                ipam: Some(MultusIpam::NodePools),
                pods_per_node: Some(16),
                pod_ranges: [(
                    one("<node>"),
                    "192.168.20.10-192.168.20.25".parse().unwrap(),
                )]
                .into(),
                namespace: Some("default".into()),
                host_interface: Some("mv-storage".into()),
                host_addresses: [(one("<node>"), ip("192.168.20.1"))].into(),
            },
        )]
        .into(),
        nodes: [(
            one("<node>"),
            NodeOverride {
                role: Some(Role::Server),
                interfaces: Some(interfaces),
                vlan_ids: both_nets("200", "100"),
                bond_config: Some(bond),
                gateway: Some(gateways()),
                mtu: [(one("<interface>"), 9000)].into(),
                routes: vec![route],
            },
        )]
        .into(),
    }
}

/// A gateway of each family.
fn gateways() -> Gateways {
    Gateways {
        v4: Some(Ipv4Addr::new(192, 168, 200, 254)),
        v6: Some("fd00:200::fe".parse().expect("an address")),
    }
}

/// An IPv4-only `ipAddresses` value.
fn v4(a: &str) -> NetAddrs {
    NetAddrs {
        v4: Some(a.parse().expect("a prefix")),
        v6: None,
    }
}

/// `{ cluster = a, storage = b }`.
fn both_nets<T: std::str::FromStr>(a: &str, b: &str) -> BTreeMap<Network, T> {
    [(Network::Cluster, a), (Network::Storage, b)]
        .into_iter()
        .map(|(n, v)| (n, v.parse().ok().expect("a value")))
        .collect()
}

/// Per-node tables documented once, as "fields as the profile-wide one".
const SAME_AS_PROFILE_WIDE: &[&str] = &[
    "nodes.<node>.interfaces",
    "nodes.<node>.bondConfig",
    "nodes.<node>.vlanIds",
    "nodes.<node>.mtu",
    "nodes.<node>.routes",
];

/// Every path of `v` (into `all`) and every leaf path (into `leaves`);
/// arrays of tables as `[]`, the networks under `ipAddresses.<node>` and `vlanIds`
/// as `<net>`.
fn paths(v: &Value, path: &str, all: &mut BTreeSet<String>, leaves: &mut BTreeSet<String>) {
    if !path.is_empty() {
        all.insert(path.to_owned());
    }
    if SAME_AS_PROFILE_WIDE.contains(&path) {
        leaves.insert(path.to_owned());
        return;
    }
    match v {
        Value::Object(m) if !m.is_empty() => {
            let networks = path == "vlanIds"
                || (path.starts_with("ipAddresses.") && path.matches('.').count() == 1);
            for (k, v) in m {
                let key = if networks { "<net>" } else { k.as_str() };
                let p = if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                paths(v, &p, all, leaves);
            }
        }
        // An array of tables (`routes`): its fields as `routes[].to`; an
        // array of values (`bondMembers`) is one field.
        Value::Array(items) if items.first().is_some_and(Value::is_object) => {
            paths(&items[0], &format!("{path}[]"), all, leaves);
        }
        _ => {
            leaves.insert(path.to_owned());
        }
    }
}

#[test]
fn every_profile_field_is_documented() {
    let json = serde_json::to_value(full_profile()).expect("serialize");
    let (mut all, mut leaves) = (BTreeSet::new(), BTreeSet::new());
    paths(&json, "", &mut all, &mut leaves);
    for legacy in n3xnet::profile::decode::LEGACY_KEYS {
        all.insert(legacy.to_string());
        leaves.insert(legacy.to_string());
    }
    assert!(leaves.len() > 50, "{leaves:?}");
    check("n3xnet-profile.5", "FIELDS", &all, &leaves);
}

/// The decoder's own lists of known keys (what it says on meeting an
/// unknown key) equal the fields the model serializes, table by table: the
/// keys above are the keys a profile may have.
#[test]
fn decoder_and_model_agree_on_the_fields() {
    let probe = r#"
zzz = 1
serverApi = "https://10.0.0.1:6443"
clusterCidr = "10.42.0.0/16"
serviceCidr = "10.43.0.0/16"
[interfaces]
cluster = "eth1"
zzz = 1
[bondConfig]
zzz = 1
[reservations.n1]
mac = "52:54:00:00:00:01"
ip = "10.0.0.1"
zzz = 1
[dhcpServer]
zzz = 1
[[routes]]
to = "10.50.0.0/16"
zzz = 1
[multus.m1]
zzz = 1
[nodes.n1]
zzz = 1
"#;
    let problems = n3xnet::profile::parse(probe, n3xnet::profile::Format::Toml)
        .expect_err("the probe has unknown keys");
    let mut known: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &problems {
        let Some(table) = p.path.strip_suffix("zzz").map(|t| t.trim_end_matches('.')) else {
            continue;
        };
        let list = p
            .expected
            .strip_prefix("one of the known keys: ")
            .unwrap_or_else(|| panic!("{p}"));
        known.insert(
            table.to_owned(),
            list.split(", ").map(str::to_owned).collect(),
        );
    }
    let json = serde_json::to_value(full_profile()).expect("serialize");
    let tables = [
        ("", ""),
        ("interfaces", "/interfaces"),
        ("bondConfig", "/bondConfig"),
        ("reservations.n1", "/reservations/<node>"),
        ("dhcpServer", "/dhcpServer"),
        ("routes[0]", "/routes/0"),
        ("multus.m1", "/multus/<nad>"),
        ("nodes.n1", "/nodes/<node>"),
    ];
    for (table, pointer) in tables {
        let model: BTreeSet<String> = json
            .pointer(pointer)
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("{pointer} in {json}"))
            .keys()
            .cloned()
            .collect();
        let decoder = known
            .get(table)
            .unwrap_or_else(|| panic!("no unknown-key problem for table {table:?}: {problems:#?}"));
        assert_eq!(
            decoder, &model,
            "table {table:?}: the decoder's known keys (left) differ from the model's fields (right)"
        );
    }
}

#[test]
fn hand_written_pages_carry_the_version() {
    for name in ["n3xnet.toml.5", "n3xnet-profile.5"] {
        let page = page(name);
        let th = page
            .lines()
            .find(|l| l.starts_with(".TH "))
            .expect("a .TH line");
        assert!(
            th.contains(&format!("\"n3xnet {}\"", env!("CARGO_PKG_VERSION"))),
            "doc/man/{name}: {th}: the footer must name this version"
        );
    }
}
