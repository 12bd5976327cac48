//! Without the capabilities, n3xnet says which one is missing. The test
//! binary re-runs itself as a child with every capability dropped
//! (`setpriv`, util-linux), still as uid 0.

mod netns_util;

use std::process::Command;

use n3xnet::desired::{DesiredAddress, DesiredLink, DesiredNetwork, LinkKind};
use n3xnet::engine::{self, ApplyOptions, EngineError};
use n3xnet::kinds::{MacvlanMode, Mode};
use n3xnet::netlink::Handle;
use netns_util::{netns_tier, runtime, Netns};

const CHILD: &str = "N3XNET_PERM_CHILD";
const CHILD_NETNS: &str = "N3XNET_PERM_NETNS";
const MARK: &str = "N3XNET_RESULT: ";

/// Run by the tests below in a capability-less child; does nothing else.
#[test]
#[ignore = "helper: the permission tests run it in a child without capabilities"]
fn child_apply() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let netns = std::env::var(CHILD_NETNS).ok();
    let d = DesiredNetwork {
        node: "server-1".into(),
        role: None,
        mode: Mode::Static,
        cluster_interface: "eth1".into(),
        cluster_ip: "192.168.1.1".parse().unwrap(),
        links: vec![DesiredLink {
            name: "mv-pods".into(),
            kind: LinkKind::Macvlan {
                parent: "eth1".into(),
                mode: MacvlanMode::Bridge,
            },
            mtu: None,
            master: None,
            dhcp: false,
            network: None,
            multus: None,
        }],
        addresses: vec![DesiredAddress {
            link: "eth1".into(),
            address: "192.168.1.1/24".parse().unwrap(),
        }],
        routes: vec![],
    };
    let result = runtime().block_on(async {
        let h = Handle::open(netns.as_deref()).map_err(EngineError::from)?;
        let lock = engine::lock::acquire(h.netns(), Some(std::time::Duration::ZERO)).await?;
        engine::apply(&h, &d, &ApplyOptions::default(), &lock).await
    });
    match result {
        Ok(r) => println!("{MARK}ok {}", r.summary()),
        Err(e) => println!("{MARK}err {e}"),
    }
}

/// Runs `child_apply` without any capability, inside `inside` or with
/// `--netns`-style access to `target`; returns its result line.
fn run_child(inside: Option<&Netns>, target: Option<&Netns>) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match inside {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns.name]);
            c
        }
        None => Command::new("env"),
    };
    cmd.args([
        "setpriv",
        "--inh-caps=-all",
        "--ambient-caps=-all",
        "--bounding-set=-all",
        "--",
    ])
    .arg(exe)
    .args([
        "--exact",
        "child_apply",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1");
    if let Some(t) = target {
        cmd.env(CHILD_NETNS, &t.name);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.split_once(MARK).map(|(_, r)| r))
        .unwrap_or_else(|| {
            panic!(
                "no result from the child:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_owned()
}

fn node() -> (Netns, Netns) {
    let ns = Netns::new();
    let sw = Netns::new();
    ns.nic("eth1", &sw, "sw-eth1");
    ns.ip("link set eth1 up");
    (ns, sw)
}

#[test]
fn apply_without_cap_net_admin_names_it_and_changes_nothing() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    let before = ns.settled();
    let result = run_child(Some(&ns), None);
    assert_eq!(
        result,
        "err changing the network needs CAP_NET_ADMIN, which this process lacks: \
         run n3xnet as root"
    );
    assert_eq!(ns.snapshot(), before);
}

#[test]
fn entering_a_namespace_without_cap_sys_admin_names_it() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = node();
    let result = run_child(None, Some(&ns));
    assert_eq!(
        result,
        format!(
            "err cannot enter network namespace `{}`: EPERM: Operation not permitted \
             (needs CAP_SYS_ADMIN: run as root)",
            ns.name
        )
    );
}
