//! Transactional apply on this machine's kernel, in throwaway namespaces:
//! veth pairs stand in for NICs (the peer in a second namespace plays the
//! switch), macvlan shims are created; `ip -j` is the witness.

mod netns_util;

use std::time::{Duration, Instant};

use n3xnet::desired::{DesiredAddress, DesiredLink, DesiredNetwork, DesiredRoute, LinkKind};
use n3xnet::engine::{ApplyReport, Outcome};
use n3xnet::kinds::{MacvlanMode, Mode, Network};
use netns_util::{apply, netns_tier, try_apply, Netns};

/// The n3x "simple" profile's server-1 on NIC `eth1` (a veth here), plus a
/// Multus host shim `mv-pods` and a default route.
struct Spec {
    eth1_mtu: Option<u32>,
    shim_mtu: Option<u32>,
    eth1_address: &'static str,
    shim_mode: MacvlanMode,
    gateway: &'static str,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            eth1_mtu: None,
            shim_mtu: None,
            eth1_address: "192.168.1.1/24",
            shim_mode: MacvlanMode::Bridge,
            gateway: "192.168.1.254",
        }
    }
}

fn desired(spec: &Spec) -> DesiredNetwork {
    let link = |name: &str, kind, mtu, network, multus: Option<&str>| DesiredLink {
        name: name.into(),
        kind,
        mtu,
        master: None,
        dhcp: false,
        network,
        multus: multus.map(Into::into),
    };
    DesiredNetwork {
        node: "server-1".into(),
        role: None,
        mode: Mode::Static,
        cluster_interface: "eth1".into(),
        cluster_ip: spec
            .eth1_address
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
        links: vec![
            link(
                "eth1",
                LinkKind::Ethernet,
                spec.eth1_mtu,
                Some(Network::Cluster),
                None,
            ),
            link(
                "mv-pods",
                LinkKind::Macvlan {
                    parent: "eth1".into(),
                    mode: spec.shim_mode,
                },
                spec.shim_mtu,
                None,
                Some("pods"),
            ),
        ],
        addresses: vec![
            DesiredAddress {
                link: "eth1".into(),
                address: spec.eth1_address.parse().unwrap(),
            },
            DesiredAddress {
                link: "mv-pods".into(),
                address: "192.168.20.1/24".parse().unwrap(),
            },
        ],
        routes: vec![DesiredRoute {
            destination: "0.0.0.0/0".parse().unwrap(),
            gateway: Some(spec.gateway.parse().unwrap()),
            link: "eth1".into(),
            metric: None,
        }],
    }
}

/// A node: `eth1` cabled to a switch namespace, as after boot (down).
fn node() -> (Netns, Netns) {
    let ns = Netns::new();
    let sw = Netns::new();
    ns.nic("eth1", &sw, "sw-eth1");
    ns.ip("link set eth1 up");
    (ns, sw)
}

/// `ip -d -j link`, `ip -j addr`, `ip -j route` of the namespace.
fn route_to<'a>(routes: &'a serde_json::Value, dst: &str) -> Option<&'a serde_json::Value> {
    routes.as_array().unwrap().iter().find(|r| r["dst"] == dst)
}

/// No IPv6 link-local on a link created with addr_gen_mode none.
fn assert_no_ipv6(ns: &Netns, link: &str) {
    let addrs = ns.ip_json(&format!("addr show dev {link}"));
    assert!(
        addrs[0]["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["family"] == "inet"),
        "an IPv6 address on {link}: {addrs}"
    );
}

#[test]
fn create_from_empty_then_reapply_is_a_no_op() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    let d = desired(&Spec::default());
    let report = apply(&ns, &d);
    assert_eq!(report.outcome, Outcome::Applied);
    assert!(report.verified && !report.rolled_back);
    assert_eq!(report.applied, report.planned);
    assert!(report.writes >= report.planned.len() as u64);

    let shim = ns.link("mv-pods");
    assert_eq!(shim["linkinfo"]["info_kind"], "macvlan");
    assert_eq!(shim["linkinfo"]["info_data"]["mode"], "bridge");
    assert_eq!(shim["link"], "eth1");
    assert_eq!(shim["ifalias"], "n3xnet");
    assert_eq!(ns.group("mv-pods"), "28211");
    assert_eq!(ns.group("eth1"), "0", "a NIC n3xnet did not create");
    assert_eq!(shim["inet6_addr_gen_mode"], "none");
    assert!(shim["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    assert_eq!(ns.ipv4("eth1"), ["192.168.1.1/24"]);
    assert_eq!(ns.ipv4("mv-pods"), ["192.168.20.1/24"]);
    assert_no_ipv6(&ns, "mv-pods");
    let routes = ns.ip_json("route show");
    let default = route_to(&routes, "default").expect("default route");
    assert_eq!(default["gateway"], "192.168.1.254");
    assert_eq!(default["dev"], "eth1");
    assert_eq!(default["protocol"], "110");

    let before = ns.snapshot();
    let again = apply(&ns, &d);
    assert_eq!(again.outcome, Outcome::InSync);
    assert_eq!(again.writes, 0);
    assert!(again.planned.is_empty() && again.applied.is_empty());
    assert_eq!(ns.snapshot(), before);
}

/// Each new shim costs four writes, the floor this kernel allows: create
/// in n3xnet's group (it ignores IFLA_IFALIAS and refuses IFLA_AF_SPEC
/// there), alias and
/// addr_gen_mode in one RTM_SETLINK (not with IFF_UP, which the kernel
/// applies first, making a link-local), up, address.
#[test]
fn a_shim_costs_four_writes() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    let mut d = desired(&Spec::default());
    apply(&ns, &d);
    const SHIMS: u64 = 3;
    for i in 0..SHIMS {
        let mut shim = d.links[1].clone();
        shim.name = format!("mv-{i}");
        shim.multus = Some(format!("pods-{i}"));
        d.links.push(shim);
        d.addresses.push(DesiredAddress {
            link: format!("mv-{i}"),
            address: format!("192.168.{}.1/24", 30 + i).parse().unwrap(),
        });
    }
    let report = apply(&ns, &d);
    assert_eq!(report.outcome, Outcome::Applied);
    assert!(
        report.writes <= 4 * SHIMS,
        "{} writes for {SHIMS} shims",
        report.writes
    );
    for i in 0..SHIMS {
        let name = format!("mv-{i}");
        let shim = ns.link(&name);
        assert_eq!(shim["ifalias"], "n3xnet");
        assert_eq!(ns.group(&name), "28211");
        assert_eq!(shim["inet6_addr_gen_mode"], "none");
        assert!(shim["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
        assert_eq!(ns.ipv4(&name), [format!("192.168.{}.1/24", 30 + i)]);
        assert_no_ipv6(&ns, &name);
    }
}

#[test]
fn changes_mtu_address_and_macvlan_mode_in_place() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    apply(&ns, &desired(&Spec::default()));
    let index = ns.link("mv-pods")["ifindex"].clone();

    let changed = Spec {
        eth1_mtu: Some(1450),
        shim_mtu: Some(1400),
        eth1_address: "192.168.1.5/24",
        shim_mode: MacvlanMode::Private,
        ..Spec::default()
    };
    let report = apply(&ns, &desired(&changed));
    assert_eq!(report.outcome, Outcome::Applied, "{report:?}");

    let shim = ns.link("mv-pods");
    assert_eq!(shim["ifindex"], index, "changed in place, not recreated");
    assert_eq!(shim["mtu"], 1400);
    assert_eq!(ns.link("eth1")["mtu"], 1450);
    assert_eq!(shim["linkinfo"]["info_data"]["mode"], "private");
    assert_eq!(
        ns.ipv4("eth1"),
        ["192.168.1.5/24"],
        "the old owned address is gone"
    );
    let routes = ns.ip_json("route show");
    assert_eq!(
        route_to(&routes, "default").unwrap()["gateway"],
        "192.168.1.254"
    );

    let again = apply(&ns, &desired(&changed));
    assert_eq!((again.outcome, again.writes), (Outcome::InSync, 0));
}

#[test]
fn foreign_links_addresses_and_routes_are_untouched() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    ns.ip("link add fx0 type veth peer name fx1");
    ns.ip("link set fx0 up");
    ns.ip("link add mv-foreign link eth1 type macvlan mode vepa");
    ns.ip("addr add 10.99.0.1/24 dev eth1");
    ns.ip("addr add 10.97.0.1/24 dev fx0");
    ns.ip("route add 10.98.0.0/16 via 10.99.0.254 dev eth1");
    let foreign = |ns: &Netns| {
        (
            ns.ip("-d -j link show dev fx0"),
            ns.ip("-d -j link show dev mv-foreign"),
            ns.ip("-j addr show dev fx0"),
            ns.ipv4("eth1")
                .into_iter()
                .filter(|a| a.starts_with("10.99."))
                .collect::<Vec<_>>(),
            route_to(&ns.ip_json("route show"), "10.98.0.0/16").cloned(),
        )
    };
    let before = foreign(&ns);
    assert!(before.4.is_some());

    apply(&ns, &desired(&Spec::default()));
    assert_eq!(foreign(&ns), before);
    let changed = Spec {
        eth1_address: "192.168.1.7/24",
        shim_mode: MacvlanMode::Private,
        ..Spec::default()
    };
    apply(&ns, &desired(&changed));
    assert_eq!(foreign(&ns), before);
    assert_eq!(ns.ipv4("eth1"), ["10.99.0.1/24", "192.168.1.7/24"]);
}

/// mv-pods as a crash right after its creating request leaves it: in
/// n3xnet's group, no alias, down, `addr_gen_mode` still the default.
fn half_create_shim(ns: &Netns) {
    ns.ip("link add mv-pods link eth1 group 28211 type macvlan mode bridge");
    let shim = ns.link("mv-pods");
    assert!(shim["ifalias"].is_null() && shim["inet6_addr_gen_mode"] == "eui64");
}

#[test]
fn a_half_created_link_is_marked_in_place_and_completed() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    half_create_shim(&ns);
    let index = ns.link("mv-pods")["ifindex"].clone();
    let report = apply(&ns, &desired(&Spec::default()));
    let planned: Vec<String> = report.planned.iter().map(ToString::to_string).collect();
    assert!(
        planned.contains(&"set mv-pods alias n3xnet".to_owned()),
        "{planned:?}"
    );
    let shim = ns.link("mv-pods");
    assert_eq!(shim["ifindex"], index, "completed in place, not recreated");
    assert_eq!(shim["ifalias"], "n3xnet");
    assert_eq!(ns.group("mv-pods"), "28211");
    assert_eq!(shim["inet6_addr_gen_mode"], "none");
    assert!(shim["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    assert_eq!(ns.ipv4("mv-pods"), ["192.168.20.1/24"]);
    assert_no_ipv6(&ns, "mv-pods");
    assert_eq!(apply(&ns, &desired(&Spec::default())).writes, 0);
}

#[test]
fn a_link_in_the_group_under_an_undeclared_name_stays_foreign() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    ns.ip("link add mv-ops link eth1 group 28211 type macvlan mode vepa");
    ns.ip("addr add 10.96.0.1/24 dev mv-ops");
    ns.ip("link set mv-ops up");
    let foreign = |ns: &Netns| (ns.link("mv-ops"), ns.ip_json("addr show dev mv-ops"));
    let before = foreign(&ns);
    let d = desired(&Spec::default());
    apply(&ns, &d);
    // A profile change that deletes n3xnet's links: still not this one.
    let mut fewer = d.clone();
    fewer.links.retain(|l| l.name != "mv-pods");
    fewer.addresses.retain(|a| a.link != "mv-pods");
    apply(&ns, &fewer);
    assert!(!ns.try_ip("link show dev mv-pods").status.success());
    assert_eq!(foreign(&ns), before);
}

#[test]
fn a_rollback_leaves_a_half_created_link_as_it_found_it() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    half_create_shim(&ns);
    let before = ns.settled();
    let mut d = desired(&Spec::default());
    d.routes.push(doomed_route());
    // Marked, then unmarked again by the rollback: the snapshot (no alias)
    // is back.
    let report = assert_rolls_back(&ns, &d, &before);
    assert!(report
        .applied
        .iter()
        .any(|o| o.to_string() == "set mv-pods alias n3xnet"));
}

/// Polls until the kernel reports `expected` again (DAD of a regenerated
/// IPv6 link-local and operstate settle asynchronously), then compares.
fn assert_restored(ns: &Netns, expected: &[String; 3]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = ns.snapshot();
        if now == *expected {
            return;
        }
        if Instant::now() > deadline {
            for (what, (a, b)) in ["link", "addr", "route"]
                .iter()
                .zip(expected.iter().zip(&now))
            {
                assert_eq!(a, b, "`ip {what}` differs after rollback");
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A route through the subnet's broadcast address: on-link by the planner's
/// rules, refused by the kernel ("Nexthop has invalid gateway").
fn doomed_route() -> DesiredRoute {
    DesiredRoute {
        destination: "10.77.0.0/16".parse().unwrap(),
        gateway: Some("192.168.1.255".parse().unwrap()),
        link: "eth1".into(),
        metric: None,
    }
}

/// Applies `d`, expects the kernel to refuse the doomed route and the
/// rollback to restore `before` exactly.
fn assert_rolls_back(ns: &Netns, d: &DesiredNetwork, before: &[String; 3]) -> ApplyReport {
    let report = try_apply(ns, d).unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack, "{}", report.summary());
    assert!(report.rolled_back && !report.verified);
    let failure = report.failure.as_ref().unwrap();
    assert_eq!(
        failure.op.as_deref(),
        Some("add route 10.77.0.0/16 via 192.168.1.255 dev eth1")
    );
    assert_eq!(failure.errno_name.as_deref(), Some("EINVAL"));
    assert_eq!(
        failure.kernel_message.as_deref(),
        Some("Nexthop has invalid gateway")
    );
    assert!(
        !report.applied.is_empty(),
        "earlier ops ran before the failure"
    );
    assert!(report.rollback_ops > 0 && report.rollback_writes > 0);
    assert!(report.rollback_failures.is_empty());
    assert!(report.summary().contains("rolled back"));
    assert_restored(ns, before);
    report
}

/// The snapshot once the kernel has settled: carrier propagated (operstate
/// up) and IPv6 duplicate address detection over.
/// A node with foreign state worth restoring.
fn lived_in_node() -> (Netns, Netns, [String; 3]) {
    let (ns, sw) = node();
    ns.ip("addr add 10.99.0.1/24 dev eth1");
    ns.ip("route add 10.98.0.0/16 via 10.99.0.254 dev eth1");
    let before = ns.settled();
    (ns, sw, before)
}

#[test]
fn failure_at_the_last_step_rolls_back_to_the_exact_state() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw, before) = lived_in_node();
    let mut d = desired(&Spec::default());
    d.routes.push(doomed_route());
    let report = assert_rolls_back(&ns, &d, &before);
    let planned: Vec<String> = report.planned.iter().map(ToString::to_string).collect();
    assert!(
        planned.contains(&"set eth1 ipv6 addrgenmode none accept_ra 0".to_owned()),
        "the NIC's IPv6 link-local was removed and must come back: {planned:?}"
    );
    assert_eq!(
        report.planned.last().map(ToString::to_string).as_deref(),
        Some("add route 10.77.0.0/16 via 192.168.1.255 dev eth1")
    );
}

#[test]
fn in_a_failed_batch_only_what_succeeded_is_undone() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw, before) = lived_in_node();
    // Independent routes go out in one datagram: the good one is added,
    // the doomed one refused; the rollback deletes the good one only (the
    // foreign 10.98.0.0/16 stays).
    let mut d = desired(&Spec::default());
    d.routes.insert(0, doomed_route());
    d.routes.push(DesiredRoute {
        destination: "10.66.0.0/16".parse().unwrap(),
        gateway: Some("192.168.1.254".parse().unwrap()),
        link: "eth1".into(),
        metric: None,
    });
    let report = assert_rolls_back(&ns, &d, &before);
    let applied: Vec<String> = report.applied.iter().map(ToString::to_string).collect();
    assert!(
        applied.iter().any(|o| o.contains("10.66.0.0/16")),
        "the good route shared the datagram and succeeded: {applied:?}"
    );
}

#[test]
fn a_failure_on_a_pristine_node_leaves_it_pristine() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    let before = ns.settled();
    let mut d = desired(&Spec {
        shim_mtu: Some(1400),
        shim_mode: MacvlanMode::Private,
        ..Spec::default()
    });
    d.routes.push(doomed_route());
    assert_rolls_back(&ns, &d, &before);
    assert!(ns.try_ip("link show dev mv-pods").status.code() != Some(0));
}

#[test]
fn a_nic_is_brought_up_without_ipv6_autoconfiguration() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    ns.ip("link set eth1 down");
    let d = desired(&Spec {
        eth1_mtu: Some(1400),
        ..Spec::default()
    });
    let report = apply(&ns, &d);
    assert_eq!(report.outcome, Outcome::Applied);
    let eth1 = ns.link("eth1");
    assert!(eth1["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    assert_eq!(eth1["mtu"], 1400);
    assert_eq!(eth1["inet6_addr_gen_mode"], "none");
    let addrs = ns.ip_json("-6 addr show dev eth1");
    assert!(
        addrs[0]["addr_info"].as_array().is_none_or(Vec::is_empty),
        "{addrs}"
    );
    let ra = ns.exec(&["cat", "/proc/sys/net/ipv6/conf/eth1/accept_ra"]);
    assert_eq!(String::from_utf8_lossy(&ra.stdout).trim(), "0");
    assert_eq!(apply(&ns, &d).writes, 0);
}
