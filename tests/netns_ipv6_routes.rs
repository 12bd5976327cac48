//! IPv6 gateways and routes on this machine's kernel, in throwaway
//! namespaces: a dual-stack node behind a router namespace gets its IPv6
//! default route and a route to a remote prefix (through the router's
//! link-local address), reaches the remote host with `ping -6`, stays in
//! sync with zero writes, has a deleted route found by `check` and
//! repaired, rolls its IPv6 routes back when an apply fails, and leaves a
//! foreign IPv6 route on the same link alone. `ip -6 -d -j route` is the
//! witness.

mod netns_util;

use n3xnet::desired::{DesiredNetwork, DesiredRoute};
use n3xnet::engine::Outcome;
use n3xnet::plan;
use n3xnet::profile::{self, Format};
use n3xnet::state::OWNER_PROTOCOL;
use netns_util::{apply, netns_tier, try_apply, Netns};
use serde_json::Value;

/// A dual-stack cluster network on `eth1` with a gateway per family, and
/// the remote prefix fd00:50::/64 routed through the router's link-local
/// address.
const PROFILE: &str = r#"
serverApi = "https://192.168.1.1:6443"
clusterCidr = "10.42.0.0/16"
serviceCidr = "10.43.0.0/16"
gateway = ["192.168.1.254", "fd00:1::fe"]
[interfaces]
cluster = "eth1"
[ipAddresses]
server-1 = { cluster = ["192.168.1.1/24", "fd00:1::1/64"] }
[[routes]]
to = "fd00:50::/64"
via = "fe80::fe"
dev = "eth1"
"#;

fn desired(profile: &str) -> DesiredNetwork {
    let p = profile::parse(profile, Format::Toml).unwrap();
    profile::resolve(&p, "server-1").unwrap()
}

/// The node (`eth1`), the router (`r-eth1` on the node's segment with
/// 192.168.1.254, fd00:1::fe and fe80::fe; `r-eth2` on the remote one with
/// fd00:50::1, forwarding) and the remote host (`h-eth1`, fd00:50::2,
/// default via the router), all up. Dropping the first drops the rest.
struct Lab {
    node: Netns,
    router: Netns,
    _host: Netns,
}

/// The lab with `profile` applied on the node; `None` when the tier is
/// skipped.
fn applied(profile: &str) -> Option<Lab> {
    if !netns_tier() {
        return None;
    }
    let lab = lab();
    let report = apply(&lab.node, &desired(profile));
    assert_eq!(report.outcome, Outcome::Applied, "{}", report.summary());
    Some(lab)
}

/// Ops as `plan` prints them.
fn texts(ops: &[plan::Op]) -> Vec<String> {
    ops.iter().map(ToString::to_string).collect()
}

fn lab() -> Lab {
    let router = Netns::new();
    let host = Netns::new();
    let node = Netns::new();
    node.nic("eth1", &router, "r-eth1");
    node.ip("link set eth1 up");
    host.nic("h-eth1", &router, "r-eth2");
    host.ip("link set h-eth1 up");
    for a in [
        "192.168.1.254/24",
        "fd00:1::fe/64 nodad",
        "fe80::fe/64 nodad",
    ] {
        router.ip(&format!("addr add {a} dev r-eth1"));
    }
    router.ip("addr add fd00:50::1/64 dev r-eth2 nodad");
    router.exec(&["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    host.ip("addr add fd00:50::2/64 dev h-eth1 nodad");
    host.ip("-6 route add default via fd00:50::1 dev h-eth1");
    host.ip("-6 route add fd00:1::/64 via fd00:50::1 dev h-eth1");
    Lab {
        node,
        router,
        _host: host,
    }
}

/// `eth1`'s IPv6 main-table routes as `ip -6 -d -j route` shows them:
/// `"<dst> via <gateway> metric <m> proto <p>"`.
fn routes6(ns: &Netns) -> Vec<String> {
    let v: Value = ns.ip_json("-6 -d -j route show table main dev eth1");
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let via = r["gateway"]
                .as_str()
                .map(|g| format!(" via {g}"))
                .unwrap_or_default();
            let proto = match &r["protocol"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!(
                "{}{via} metric {} proto {proto}",
                r["dst"].as_str().unwrap(),
                r["metric"]
            )
        })
        .collect();
    out.sort();
    out
}

fn ping6(from: &Netns, to: &str) {
    let out = from.exec(&["ping", "-6", "-c", "1", "-w", "10", to]);
    assert!(
        out.status.success(),
        "ping -6 {to}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const OURS: &str = "proto 110";

#[test]
fn ipv6_gateway_and_route_reach_the_remote_host_and_stay_in_sync() {
    let Some(lab) = applied(PROFILE) else { return };
    let ns = &lab.node;
    let d = desired(PROFILE);
    let routes = routes6(ns);
    for want in [
        format!("default via fd00:1::fe metric 1024 {OURS}"),
        format!("fd00:50::/64 via fe80::fe metric 1024 {OURS}"),
        // The kernel's own, never n3xnet's.
        "fd00:1::/64 metric 256 proto kernel".to_owned(),
        "fe80::/64 metric 256 proto kernel".to_owned(),
    ] {
        assert!(routes.contains(&want), "{want} not in {routes:#?}");
    }
    let state = ns.dump();
    let mut owned: Vec<String> = state
        .routes
        .iter()
        .filter(|r| r.destination.addr().is_ipv6() && r.is_owned())
        .map(|r| r.destination.to_string())
        .collect();
    owned.sort();
    assert_eq!(owned, ["::/0", "fd00:50::/64"], "{:?}", state.routes);
    assert_eq!(OWNER_PROTOCOL, 110);

    ns.wait_dad();
    lab.router.wait_dad();
    ping6(ns, "fd00:50::2");
    // The remote prefix goes through the router's link-local address.
    let get = ns.ip_json("-6 -j route get fd00:50::2");
    assert_eq!(get[0]["gateway"], "fe80::fe", "{get}");

    // In sync: check is clean and a re-apply writes nothing.
    let rows = plan::check(&d, &ns.dump());
    assert_eq!(plan::check::failures(&rows).count(), 0, "{rows:?}");
    let before = ns.settled();
    let again = apply(ns, &d);
    assert_eq!((again.outcome, again.writes), (Outcome::InSync, 0));
    assert_eq!(ns.settled(), before);
}

#[test]
fn a_deleted_ipv6_route_is_found_by_check_and_repaired() {
    let Some(lab) = applied(PROFILE) else { return };
    let ns = &lab.node;
    let d = desired(PROFILE);
    ns.ip("-6 route del default via fd00:1::fe dev eth1");
    let rows = plan::check(&d, &ns.dump());
    let failed: Vec<String> = plan::check::failures(&rows)
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("default via fd00:1::fe"), "{failed:?}");

    let repair = apply(ns, &d);
    assert_eq!(
        texts(&repair.planned),
        ["add route default via fd00:1::fe dev eth1"]
    );
    assert!(routes6(ns).contains(&format!("default via fd00:1::fe metric 1024 {OURS}")));
    let again = apply(ns, &d);
    assert_eq!((again.outcome, again.writes), (Outcome::InSync, 0));
}

#[test]
fn a_foreign_ipv6_route_on_the_same_link_is_untouched() {
    let Some(lab) = applied(PROFILE) else { return };
    let ns = &lab.node;
    ns.ip("-6 route add fd00:99::/48 via fd00:1::99 dev eth1");
    let foreign = "fd00:99::/48 via fd00:1::99 metric 1024 proto boot".to_owned();
    assert!(routes6(ns).contains(&foreign), "{:?}", routes6(ns));
    // In sync with it, and a changed profile (the remote route's metric)
    // replaces n3xnet's route only.
    let again = apply(ns, &desired(PROFILE));
    assert_eq!((again.outcome, again.writes), (Outcome::InSync, 0));
    let changed = desired(&format!("{PROFILE}metric = 50\n"));
    let report = apply(ns, &changed);
    assert_eq!(
        texts(&report.planned),
        [
            "delete route fd00:50::/64 via fe80::fe dev eth1 metric 1024",
            "add route fd00:50::/64 via fe80::fe dev eth1 metric 50",
        ]
    );
    let routes = routes6(ns);
    assert!(routes.contains(&foreign), "{routes:?}");
    assert!(
        routes.contains(&format!("fd00:50::/64 via fe80::fe metric 50 {OURS}")),
        "{routes:?}"
    );
}

/// The kernel refuses the last route (a gateway on the subnet's broadcast
/// address): the IPv6 routes the apply deleted come back as they were
/// (n3xnet's, metric 1024), and nothing it added stays.
#[test]
fn a_failed_apply_rolls_ipv6_routes_back() {
    let old = format!("{PROFILE}[[routes]]\nto = \"fd00:60::/64\"\nvia = \"fd00:1::fe\"\n");
    let Some(lab) = applied(&old) else { return };
    let ns = &lab.node;
    let before = ns.settled();
    let mut d = desired(&PROFILE.replace("fe80::fe", "fd00:1::fe"));
    d.routes.push(DesiredRoute {
        destination: "10.77.0.0/16".parse().unwrap(),
        gateway: Some("192.168.1.255".parse().unwrap()),
        link: "eth1".into(),
        metric: None,
    });
    let report = try_apply(ns, &d).unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack, "{}", report.summary());
    let applied = texts(&report.applied);
    for want in [
        "delete route fd00:50::/64 via fe80::fe dev eth1 metric 1024",
        "delete route fd00:60::/64 via fd00:1::fe dev eth1 metric 1024",
    ] {
        assert!(
            applied.iter().any(|a| a == want),
            "{want} not applied before the failure: {applied:?}"
        );
    }
    assert!(report.rollback_failures.is_empty());
    let routes = routes6(ns);
    for want in [
        format!("fd00:50::/64 via fe80::fe metric 1024 {OURS}"),
        format!("fd00:60::/64 via fd00:1::fe metric 1024 {OURS}"),
    ] {
        assert!(routes.contains(&want), "{want} not restored: {routes:?}");
    }
    assert!(!routes
        .iter()
        .any(|r| r.starts_with("fd00:50::/64 via fd00:1::fe")));
    assert_eq!(ns.settled(), before);
}
