//! Static IPv6 addresses on this machine's kernel, in throwaway namespaces:
//! a dual-stack node on a veth "NIC" gets its IPv4, IPv6 and link-local
//! addresses, keeps them in sync with zero writes, has them checked,
//! restored, rolled back, leaves foreign IPv6 alone, reports a duplicate
//! address, and reaches a dual-stack peer over both families. `ip -j` and
//! `ping` are the witnesses.

mod netns_util;

use std::time::{Duration, Instant};

use n3xnet::desired::{DesiredNetwork, DesiredRoute};
use n3xnet::engine::Outcome;
use n3xnet::plan;
use n3xnet::profile::{self, Format};
use n3xnet::state::Dad;
use netns_util::{apply, netns_tier, try_apply, Netns};

/// A dual-stack cluster network on `eth1`, in the profile's list form.
const PROFILE: &str = r#"
serverApi = "https://192.168.1.1:6443"
clusterCidr = "10.42.0.0/16"
serviceCidr = "10.43.0.0/16"
[interfaces]
cluster = "eth1"
[ipAddresses]
server-1 = { cluster = ["192.168.1.1/24", "fd00:1::1/64"] }
server-2 = { cluster = ["192.168.1.2/24", "fd00:1::2/64"] }
"#;

/// Node `server-<host>` of [`PROFILE`], resolved as n3xnetd does: on
/// `eth1` `192.168.1.<host>/24`, `fd00:1::<host>/64` and the link-local
/// `fe80::<host>/64` derived from it, in that order.
fn dual_stack(host: u8) -> DesiredNetwork {
    let p = profile::parse(PROFILE, Format::Toml).unwrap();
    let d = profile::resolve(&p, &format!("server-{host}")).unwrap();
    let on_eth1: Vec<String> = d
        .addresses_on("eth1")
        .map(|a| a.address.to_string())
        .collect();
    assert_eq!(
        on_eth1,
        [
            format!("192.168.1.{host}/24"),
            format!("fd00:1::{host}/64"),
            format!("fe80::{host}/64")
        ]
    );
    d
}

/// `eth1` cabled to a peer namespace (the switch, or another node), up.
fn node(peer: &Netns, peer_link: &str) -> Netns {
    let ns = Netns::new();
    ns.nic("eth1", peer, peer_link);
    ns.ip("link set eth1 up");
    ns
}

/// The IPv6 addresses of `link` as `ip -j` shows them, with their DAD
/// flags: `("fd00:1::1/64", ["tentative"])`.
fn ipv6(ns: &Netns, link: &str) -> Vec<(String, Vec<String>)> {
    let v = ns.ip_json(&format!("-6 addr show dev {link}"));
    let Some(info) = v[0]["addr_info"].as_array() else {
        return Vec::new();
    };
    info.iter()
        .map(|a| {
            let flags = ["tentative", "dadfailed", "nodad"]
                .into_iter()
                .filter(|f| a[*f] == true)
                .map(String::from)
                .collect();
            let local = a["local"].as_str().unwrap();
            (format!("{local}/{}", a["prefixlen"]), flags)
        })
        .collect()
}

fn ipv6_addrs(ns: &Netns, link: &str) -> Vec<String> {
    let mut v: Vec<String> = ipv6(ns, link).into_iter().map(|(a, _)| a).collect();
    v.sort();
    v
}

#[test]
fn dual_stack_apply_then_reapply_is_a_no_op() {
    if !netns_tier() {
        return;
    }
    let sw = Netns::new();
    let ns = node(&sw, "sw-eth1");
    let d = dual_stack(1);
    let report = apply(&ns, &d);
    assert_eq!(report.outcome, Outcome::Applied, "{}", report.summary());
    assert_eq!(ns.ipv4("eth1"), ["192.168.1.1/24"]);
    assert_eq!(
        ipv6_addrs(&ns, "eth1"),
        ["fd00:1::1/64", "fe80::1/64"],
        "the profile's addresses, and no link-local of the kernel's"
    );
    // This iproute2 does not show IFA_PROTO; the dump reads it.
    let state = ns.dump();
    let v6: Vec<_> = state
        .addresses_on("eth1")
        .filter(|a| a.address.addr().is_ipv6())
        .collect();
    assert!(v6.len() == 2 && v6.iter().all(|a| a.is_owned()), "{v6:?}");
    let eth1 = ns.link("eth1");
    assert_eq!(eth1["inet6_addr_gen_mode"], "none");
    assert_eq!(
        ns.exec(&["cat", "/proc/sys/net/ipv6/conf/eth1/accept_ra"])
            .stdout,
        b"0\n"
    );

    ns.wait_dad();
    let before = ns.snapshot();
    let again = apply(&ns, &d);
    assert_eq!((again.outcome, again.writes), (Outcome::InSync, 0));
    assert_eq!(ns.snapshot(), before);
}

#[test]
fn check_sees_a_removed_ipv6_address_and_reapply_restores_it() {
    if !netns_tier() {
        return;
    }
    let sw = Netns::new();
    let ns = node(&sw, "sw-eth1");
    let d = dual_stack(1);
    apply(&ns, &d);
    ns.ip("-6 addr del fd00:1::1/64 dev eth1");
    let rows = plan::check(&d, &ns.dump());
    let failed: Vec<String> = plan::check::failures(&rows)
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(failed, ["addresses.fd00:1::1/64 dev eth1"]);

    let repair = apply(&ns, &d);
    assert_eq!(repair.outcome, Outcome::Applied);
    let planned: Vec<String> = repair.planned.iter().map(ToString::to_string).collect();
    assert_eq!(planned, ["add address fd00:1::1/64 dev eth1"]);
    assert_eq!(ipv6_addrs(&ns, "eth1"), ["fd00:1::1/64", "fe80::1/64"]);
}

#[test]
fn foreign_ipv6_addresses_are_untouched() {
    if !netns_tier() {
        return;
    }
    let sw = Netns::new();
    let ns = node(&sw, "sw-eth1");
    ns.ip("-6 addr add fd00:99::1/64 dev eth1 nodad");
    let mut d = dual_stack(1);
    apply(&ns, &d);
    assert!(ipv6_addrs(&ns, "eth1").contains(&"fd00:99::1/64".to_owned()));
    // A changed address: the old owned one goes, the foreign one stays.
    d.addresses[1].address = "fd00:1::5/64".parse().unwrap();
    d.addresses[2].address = "fe80::5/64".parse().unwrap();
    apply(&ns, &d);
    assert_eq!(
        ipv6_addrs(&ns, "eth1"),
        ["fd00:1::5/64", "fd00:99::1/64", "fe80::5/64"]
    );
}

#[test]
fn a_failed_apply_rolls_ipv6_addresses_back() {
    if !netns_tier() {
        return;
    }
    let sw = Netns::new();
    let ns = node(&sw, "sw-eth1");
    ns.ip("-6 addr add fd00:99::1/64 dev eth1 nodad");
    let before = ns.settled();
    let mut d = dual_stack(1);
    // On-link by the planner's rules, refused by the kernel.
    d.routes.push(DesiredRoute {
        destination: "10.77.0.0/16".parse().unwrap(),
        gateway: Some("192.168.1.255".parse().unwrap()),
        link: "eth1".into(),
        metric: None,
    });
    let report = try_apply(&ns, &d).unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack, "{}", report.summary());
    let applied: Vec<String> = report.applied.iter().map(ToString::to_string).collect();
    assert!(
        applied.contains(&"add address fd00:1::1/64 dev eth1".to_owned()),
        "the IPv6 address went in before the failure: {applied:?}"
    );
    assert!(report.rollback_failures.is_empty());
    let left = ipv6_addrs(&ns, "eth1");
    assert!(
        left.contains(&"fd00:99::1/64".to_owned())
            && !left
                .iter()
                .any(|a| a == "fd00:1::1/64" || a == "fe80::1/64"),
        "{left:?}"
    );
    // Links (addr_gen_mode back, the kernel's link-local regenerated),
    // addresses and routes exactly as before.
    assert_eq!(ns.settled(), before);
}

/// The switch side already holds the node's address: DAD fails, the state
/// says so, and the planner does not re-add it in a loop.
#[test]
fn an_address_another_host_holds_is_reported_not_retried() {
    if !netns_tier() {
        return;
    }
    let sw = Netns::new();
    let ns = node(&sw, "sw-eth1");
    sw.ip("-6 addr add fd00:1::1/64 dev sw-eth1 nodad");
    let d = dual_stack(1);
    apply(&ns, &d);
    let deadline = Instant::now() + Duration::from_secs(10);
    let dad = loop {
        let state = ns.dump();
        let a = state
            .addresses
            .iter()
            .find(|a| a.link == "eth1" && a.address.to_string() == "fd00:1::1/64")
            .cloned()
            .expect("the address stays, marked");
        if a.dad != Some(Dad::Tentative) || Instant::now() > deadline {
            break a.dad;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(dad, Some(Dad::Failed), "{:?}", ipv6(&ns, "eth1"));
    let flags = ipv6(&ns, "eth1")
        .into_iter()
        .find(|(a, _)| a == "fd00:1::1/64")
        .map(|(_, f)| f);
    assert_eq!(flags, Some(vec!["tentative".into(), "dadfailed".into()]));
    // The link-local is nobody else's: it passes.
    let again = apply(&ns, &d);
    assert_eq!((again.outcome, again.writes), (Outcome::InSync, 0));
}

/// Two dual-stack nodes cabled back to back reach each other over IPv4,
/// IPv6 and the link-local addresses.
#[test]
fn two_dual_stack_nodes_reach_each_other_over_both_families() {
    if !netns_tier() {
        return;
    }
    let b = Netns::new();
    let a = node(&b, "eth1");
    b.ip("link set eth1 up");
    apply(&a, &dual_stack(1));
    apply(&b, &dual_stack(2));
    a.wait_dad();
    b.wait_dad();
    for target in ["192.168.1.2", "fd00:1::2", "fe80::2%eth1"] {
        let out = a.exec(&["ping", "-c", "1", "-w", "10", target]);
        assert!(
            out.status.success(),
            "ping {target}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
