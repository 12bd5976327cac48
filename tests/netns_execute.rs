//! `engine::execute` and `Handle::preflight` on this machine's kernel: op
//! semantics the planner-driven tests do not reach directly.

mod netns_util;

use std::time::{Duration, Instant};

use n3xnet::desired::LinkKind;
use n3xnet::engine::{self, EngineError, Execution};
use n3xnet::kinds::MacvlanMode;
use n3xnet::netlink::{Handle, NetlinkError};
use n3xnet::plan::Op;
use netns_util::{netns_tier, runtime, Netns};

fn execute(ns: &Netns, ops: &[Op]) -> Execution {
    runtime().block_on(async {
        let h = Handle::open(Some(&ns.name)).unwrap();
        engine::execute(&h, ops).await
    })
}

/// `eth1` up with its peer up in a second namespace, IPv6 link-local done.
fn node() -> (Netns, Netns) {
    let ns = Netns::new();
    let sw = Netns::new();
    ns.nic("eth1", &sw, "sw-eth1");
    ns.ip("link set eth1 up");
    let deadline = Instant::now() + Duration::from_secs(10);
    while link_locals(&ns).is_empty() || ns.ip("-6 addr").contains("tentative") {
        assert!(Instant::now() < deadline, "no IPv6 link-local on eth1");
        std::thread::sleep(Duration::from_millis(50));
    }
    (ns, sw)
}

fn link_locals(ns: &Netns) -> Vec<String> {
    ns.ip_json("-6 addr show dev eth1 scope link")[0]["addr_info"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["local"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn sysctl(ns: &Netns, key: &str) -> String {
    let out = ns.exec(&["cat", &format!("/proc/sys/net/ipv6/conf/eth1/{key}")]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn macvlan(name: &str, mtu: Option<u32>) -> Op {
    Op::CreateLink {
        name: name.into(),
        kind: LinkKind::Macvlan {
            parent: "eth1".into(),
            mode: MacvlanMode::Bridge,
        },
        mtu,
        mac: None,
    }
}

#[test]
fn ipv6_autoconf_off_and_back_on() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    let original = link_locals(&ns);
    assert_eq!(sysctl(&ns, "accept_ra"), "1");

    let off = execute(
        &ns,
        &[Op::DisableIpv6Auto {
            name: "eth1".into(),
        }],
    );
    assert!(off.succeeded(), "{:?}", off.failures);
    // addr_gen_mode, accept_ra, one link-local deleted.
    assert_eq!(off.writes, 3);
    assert_eq!(ns.link("eth1")["inet6_addr_gen_mode"], "none");
    assert_eq!(sysctl(&ns, "accept_ra"), "0");
    assert!(link_locals(&ns).is_empty());
    // It stays off across a bounce.
    ns.ip("link set eth1 down");
    ns.ip("link set eth1 up");
    std::thread::sleep(Duration::from_millis(100));
    assert!(link_locals(&ns).is_empty());

    let on = execute(
        &ns,
        &[Op::EnableIpv6Auto {
            name: "eth1".into(),
            regenerate: true,
        }],
    );
    assert!(on.succeeded(), "{:?}", on.failures);
    assert_eq!(ns.link("eth1")["inet6_addr_gen_mode"], "eui64");
    assert_eq!(sysctl(&ns, "accept_ra"), "1");
    assert_eq!(
        link_locals(&ns),
        original,
        "the same link-local is back at once"
    );
}

#[test]
fn a_refused_op_does_not_stop_the_rest_of_its_batch() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    // Independent: one datagram. The middle one asks for an MTU the
    // kernel refuses.
    let ops = [
        macvlan("mva", None),
        macvlan("mvb", Some(70000)),
        macvlan("mvc", None),
    ];
    let ex = execute(&ns, &ops);
    assert_eq!(ex.applied, [ops[0].clone(), ops[2].clone()]);
    assert_eq!(ex.failures.len(), 1);
    let EngineError::Netlink(NetlinkError::Op { op, source }) = &ex.failures[0] else {
        panic!("{:?}", ex.failures)
    };
    assert_eq!(op, "create mvb macvlan bridge on eth1 mtu 70000");
    assert_eq!(source.errno, libc::EINVAL);
    assert!(source.message.is_some(), "the kernel explains: {source}");
    // Three creations, then alias and addr_gen_mode in one request for
    // each of the two that exist.
    assert_eq!(ex.writes, 3 + 2);
    for name in ["mva", "mvc"] {
        let l = ns.link(name);
        assert_eq!(
            (l["ifalias"].as_str(), l["inet6_addr_gen_mode"].as_str()),
            (Some("n3xnet"), Some("none"))
        );
        assert_eq!(ns.group(name), "28211");
    }
    assert!(!ns.try_ip("link show dev mvb").status.success());
}

#[test]
fn later_batches_see_links_created_by_earlier_ones() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    let mut ops = Vec::new();
    for i in 0..40 {
        ops.push(macvlan(&format!("mv{i}"), None));
    }
    for i in 0..40 {
        ops.push(Op::SetUp {
            name: format!("mv{i}"),
        });
        ops.push(Op::AddAddress {
            link: format!("mv{i}"),
            address: format!("10.20.{i}.1/24").parse().unwrap(),
        });
    }
    let ex = execute(&ns, &ops);
    assert!(ex.succeeded(), "{:?}", ex.failures);
    assert_eq!(ex.applied.len(), ops.len());
    assert_eq!(ex.writes, 40 * 2 + 80);
    let addrs = ns.ip_json("-4 addr show");
    let count = addrs
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["ifname"].as_str().unwrap().starts_with("mv"))
        .filter(|l| l["operstate"] != "DOWN")
        .count();
    assert_eq!(count, 40);
}

/// Whether `ip` can create a link of this kind here (the independent view).
fn ip_can_create(ns: &Netns, args: &str) -> bool {
    let ok = ns
        .try_ip(&format!("link add n3xt-probe {args}"))
        .status
        .success();
    if ok {
        ns.ip("link del n3xt-probe");
    }
    ok
}

#[test]
fn preflight_agrees_with_the_kernel_and_changes_nothing() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    let before = ns.settled();
    let cases = [
        (
            LinkKind::Vlan {
                parent: "eth1".into(),
                id: 5,
            },
            "link eth1 type vlan id 5",
            "kernel has no 802.1Q VLAN support (module `8021q` not loaded and could not be loaded)",
        ),
        (
            LinkKind::Ipvlan {
                parent: "eth1".into(),
                mode: n3xnet::kinds::IpvlanMode::L2,
            },
            "link eth1 type ipvlan mode l2",
            "kernel has no ipvlan support (module `ipvlan` not loaded and could not be loaded)",
        ),
        (
            LinkKind::Macvlan {
                parent: "eth1".into(),
                mode: MacvlanMode::Bridge,
            },
            "link eth1 type macvlan",
            "kernel has no macvlan support (module `macvlan` not loaded and could not be loaded)",
        ),
    ];
    for (kind, ip_args, message) in cases {
        let op = Op::CreateLink {
            name: "x".into(),
            kind,
            mtu: None,
            mac: None,
        };
        let verdict = runtime().block_on(async {
            let h = Handle::open(Some(&ns.name)).unwrap();
            h.preflight(std::slice::from_ref(&op)).await
        });
        assert_eq!(ns.snapshot(), before, "preflight changed something");
        // Preflight loads modules, so ask ip only afterwards.
        match (verdict, ip_can_create(&ns, ip_args)) {
            (Ok(()), true) => {}
            (Err(e), false) => assert_eq!(e.to_string(), message),
            (v, ip) => panic!("{op}: preflight says {v:?}, ip can create: {ip}"),
        }
    }
}
