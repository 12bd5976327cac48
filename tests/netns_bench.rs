//! Throughput against `ip -batch` for the same writes: N macvlan shims,
//! each created, marked, IPv6-autoconf-free, up, with an address. Opt-in
//! (`cargo test --release --test netns_bench -- --ignored --nocapture`);
//! it fails if n3xnet is slower than `ip -batch`.

mod netns_util;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use n3xnet::desired::{DesiredAddress, DesiredLink, DesiredNetwork, LinkKind};
use n3xnet::netlink::{ApplyOptions, Handle};
use n3xnet::plan::Op;
use n3xnet::profile::model::{MacvlanMode, Mode};
use netns_util::{netns_tier, runtime, Netns};

const SHIMS: usize = 200;
const ROUNDS: usize = 5;

fn node() -> (Netns, Netns) {
    let ns = Netns::new();
    let sw = Netns::new();
    ns.nic("eth1", &sw, "sw-eth1");
    ns.ip("link set eth1 up");
    (ns, sw)
}

fn address(i: usize) -> String {
    format!("10.{}.{}.1/24", 100 + i / 256, i % 256)
}

fn ip_batch(ns: &Netns) -> Duration {
    let mut script = String::new();
    for i in 0..SHIMS {
        script += &format!("link add mv{i} link eth1 type macvlan mode bridge\n");
        script += &format!("link set mv{i} alias n3xnet addrgenmode none\n");
    }
    for i in 0..SHIMS {
        script += &format!("link set mv{i} up\naddr add {} dev mv{i}\n", address(i));
    }
    let start = Instant::now();
    let mut child = Command::new("ip")
        .args(["-n", &ns.name, "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    start.elapsed()
}

fn ops() -> Vec<Op> {
    let mut ops: Vec<Op> = (0..SHIMS)
        .map(|i| Op::CreateLink {
            name: format!("mv{i}"),
            kind: LinkKind::Macvlan {
                parent: "eth1".into(),
                mode: MacvlanMode::Bridge,
            },
            mtu: None,
            mac: None,
        })
        .collect();
    for i in 0..SHIMS {
        ops.push(Op::SetUp {
            name: format!("mv{i}"),
        });
        ops.push(Op::AddAddress {
            link: format!("mv{i}"),
            address: address(i).parse().unwrap(),
        });
    }
    ops
}

fn desired() -> DesiredNetwork {
    DesiredNetwork {
        node: "bench".into(),
        role: None,
        mode: Mode::Static,
        cluster_interface: "eth1".into(),
        cluster_ip: "10.100.0.1".parse().unwrap(),
        links: (0..SHIMS)
            .map(|i| DesiredLink {
                name: format!("mv{i}"),
                kind: LinkKind::Macvlan {
                    parent: "eth1".into(),
                    mode: MacvlanMode::Bridge,
                },
                mtu: None,
                master: None,
                dhcp: false,
                network: None,
                multus: None,
            })
            .collect(),
        addresses: (0..SHIMS)
            .map(|i| DesiredAddress {
                link: format!("mv{i}"),
                address: address(i).parse().unwrap(),
            })
            .collect(),
        routes: vec![],
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn no_slower_than_ip_batch() {
    if !netns_tier() {
        return;
    }
    let rt = runtime();
    let (mut ip, mut exec, mut apply, mut noop) = (vec![], vec![], vec![], vec![]);
    let mut timings = Vec::new();
    for _ in 0..ROUNDS {
        let (ns, _sw) = node();
        ip.push(ip_batch(&ns));

        let (ns, _sw) = node();
        rt.block_on(async {
            let h = Handle::open(Some(&ns.name)).unwrap();
            let start = Instant::now();
            let ex = h.execute(&ops()).await;
            exec.push(start.elapsed());
            assert!(ex.succeeded(), "{:?}", ex.failures);
        });

        let (ns, _sw) = node();
        rt.block_on(async {
            let h = Handle::open(Some(&ns.name)).unwrap();
            let d = desired();
            let start = Instant::now();
            let r = h.apply(&d, &ApplyOptions::default()).await.unwrap();
            apply.push(start.elapsed());
            assert!(r.verified);
            timings.push(r.timings);
            let start = Instant::now();
            let r = h.apply(&d, &ApplyOptions::default()).await.unwrap();
            noop.push(start.elapsed());
            assert_eq!(r.writes, 0);
        });
    }
    let (ip, exec, apply, noop) = (median(ip), median(exec), median(apply), median(noop));
    println!(
        "{SHIMS} macvlan shims (create, alias, addrgenmode none, up, address), median of {ROUNDS}:\n  \
         ip -batch        {ip:?}\n  n3xnet execute   {exec:?}\n  \
         n3xnet apply     {apply:?} (dump, plan, execute, verify)\n  \
         n3xnet re-apply  {noop:?} (in sync: dump + plan, 0 writes)\n  \
         apply phases of the last round: {:?}",
        timings.last().unwrap()
    );
    assert!(exec <= ip, "execute {exec:?} slower than ip -batch {ip:?}");
}
