//! n3xnetd's DHCP client against a real DHCP server: dnsmasq (Debian's
//! `dnsmasq-base`, `scripts/install-deps dhcp`) in the switch namespace of
//! the daemon test node ([`daemon_util::Node`]), serving the `dhcp-simple`
//! profile's network with its reservation by MAC. The node is `agent-1`,
//! its `eth1` has the reserved MAC 52:54:00:01:01:03.
//!
//! Witnesses: `ip -j addr/route` of the node, `ip monitor address` (an
//! address flap is an `RTM_DELADDR`), dnsmasq's own log (`--log-dhcp`),
//! the status file and `STATUS=`.
//!
//! Times: dnsmasq will not lease for less than 2 minutes, but it sends the
//! T1/T2 it is told (`dhcp-option=58/59`): renewals are observed at T1 = 3 s,
//! rebinding at T2 = 6 s, and the expiry test waits out the real 120 s.

mod daemon_util;
mod netns_util;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use daemon_util::{status_line, wait_until, Daemon, Node, SETTLE};
use netns_util::{netns_tier, Netns};
use serde_json::Value;

const PROFILE: &str = include_str!("../profiles/dhcp-simple.toml");
const MAC: &str = "52:54:00:01:01:03";
const RESERVED: &str = "192.168.1.3/24";
/// dnsmasq's shortest lease.
const LEASE: Duration = Duration::from_secs(120);
/// T1 = 3 s, T2 = 6 s.
const FAST_RENEWAL: [&str; 2] = ["--dhcp-option=58,3", "--dhcp-option=59,6"];

/// The dhcp-simple node agent-1: `eth1` with the reserved MAC, cabled to
/// the switch, which holds the DHCP server's address 192.168.1.254.
fn agent_1() -> Node {
    let node = Node::without_nic("");
    node.set_profile(PROFILE);
    fs::write(
        node.path("n3xnet.toml"),
        "profile = \"profile.toml\"\nnode = \"agent-1\"\n",
    )
    .unwrap();
    node.ns.nic("eth1", &node.sw, "sw-eth1");
    node.ns.ip(&format!("link set eth1 address {MAC}"));
    node.ns.ip("link set eth1 up");
    node.sw.ip("addr add 192.168.1.254/24 dev sw-eth1");
    node
}

/// The daemon with its leases in the node's directory.
fn start_daemon(node: &Node) -> Daemon {
    let dir = node.dir.path().to_str().unwrap().to_owned();
    Daemon::start_with(node, &[("STATE_DIRECTORY", &dir)])
}

/// agent-1 with the profile's server (dnsmasq with `extra` options) and
/// the daemon, once the lease is bound; the bound lease.
fn bound_agent(extra: &[&str]) -> (Node, Dnsmasq, Daemon, Value) {
    let node = agent_1();
    let server = Dnsmasq::profile_server(&node, extra);
    let mut d = start_daemon(&node);
    d.wait_ready();
    let lease = wait_lease(&d, SETTLE, |l| l["state"] == "bound");
    (node, server, d, lease)
}

/// A dnsmasq DHCP server (no DNS) on one interface of a namespace;
/// killed on drop.
struct Dnsmasq {
    child: Child,
    log: PathBuf,
}

impl Dnsmasq {
    /// The profile's `dhcpServer` (range .100-.200, 2 min leases, no
    /// router, agent-1 reserved by MAC) on the switch's `sw-eth1`.
    fn profile_server(node: &Node, extra: &[&str]) -> Dnsmasq {
        let mut args = vec![
            "--dhcp-range=192.168.1.100,192.168.1.200,255.255.255.0,2m",
            "--dhcp-host=52:54:00:01:01:03,192.168.1.3",
            // No gateway, as the profile says.
            "--dhcp-option=3",
        ];
        args.extend_from_slice(extra);
        Dnsmasq::start(&node.sw, "sw-eth1", node.dir.path(), "dnsmasq", &args)
    }

    fn start(ns: &Netns, iface: &str, dir: &Path, name: &str, args: &[&str]) -> Dnsmasq {
        let log = dir.join(format!("{name}.log"));
        let leases = dir.join(format!("{name}.leases"));
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, dnsmasq_binary()])
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--port=0",
                "--bind-interfaces",
                "--log-dhcp",
                "--log-facility=-",
                "--user=root",
            ])
            .arg(format!("--interface={iface}"))
            .arg(format!("--dhcp-leasefile={}", leases.display()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("dnsmasq (scripts/install-deps dhcp)");
        let d = Dnsmasq { child, log };
        assert!(
            wait_until(SETTLE, || d.log().contains("DHCP, IP range")).is_some(),
            "dnsmasq did not start:\n{}",
            d.log()
        );
        d
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// DHCPACKs sent so far.
    fn acks(&self) -> usize {
        self.log().matches("DHCPACK(").count()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.stop();
    }
}

fn dnsmasq_binary() -> &'static str {
    ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("dnsmasq is not installed: scripts/install-deps dhcp")
}

/// `ip monitor address` of a namespace, from the moment it returns.
struct Monitor {
    child: Child,
    out: PathBuf,
}

impl Monitor {
    fn start(ns: &Netns, dir: &Path) -> Monitor {
        let out = dir.join("monitor.log");
        let child = Command::new("ip")
            .args(["-n", &ns.name, "monitor", "address"])
            .stdout(fs::File::create(&out).unwrap())
            .spawn()
            .unwrap();
        let m = Monitor { child, out };
        // Subscribed once it reports a marker change of our own.
        let seen = wait_until(SETTLE, || {
            ns.ip("addr replace 10.99.99.1/32 dev lo");
            m.text().contains("10.99.99.1")
        });
        assert!(seen.is_some(), "ip monitor never reported");
        ns.ip("addr del 10.99.99.1/32 dev lo");
        m
    }

    fn text(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Address deletions on `eth1` seen so far.
    fn eth1_deletions(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.starts_with("Deleted") && l.contains("eth1"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `eth1`'s IPv4 addresses as (`a.b.c.d/len`, valid lifetime in seconds,
/// dynamic flag).
fn eth1_addresses(node: &Node) -> Vec<(String, u64, bool)> {
    let v = node.ns.ip_json("-4 addr show dev eth1");
    v[0]["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]),
                a["valid_life_time"].as_u64().unwrap(),
                a["dynamic"] == true,
            )
        })
        .collect()
}

fn routes(node: &Node) -> Vec<Value> {
    node.ns
        .ip_json("-4 route show")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits for the lease status to satisfy `pred`, within `timeout`.
fn wait_lease(d: &Daemon, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let ok = wait_until(timeout, || {
        last = fs::read_to_string(&d.status)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .map(|s| s["dhcp"][0].clone())
            .unwrap_or(Value::Null);
        pred(&last)
    });
    assert!(
        ok.is_some(),
        "lease never matched; last: {last:#}\nlog:\n{}",
        d.log()
    );
    last
}

#[test]
fn dhcp_simple_agent_1_end_to_end() {
    if !netns_tier() {
        return;
    }
    let node = agent_1();
    let server = Dnsmasq::profile_server(&node, &[]);
    let mut d = start_daemon(&node);
    let ready = d.wait_ready();
    assert_eq!(status_line(&ready), Some("online: cluster ok"), "{ready}");

    // The reserved address, leased: dynamic, with the lease's lifetime.
    let addrs = eth1_addresses(&node);
    assert_eq!(addrs.len(), 1, "{addrs:?}");
    let (addr, valid, dynamic) = &addrs[0];
    assert_eq!(addr, RESERVED);
    assert!(*dynamic, "not dynamic: {addrs:?}");
    assert!(*valid <= 120 && *valid > 100, "valid_lft {valid}");
    // The on-link subnet route, and no default route (no router offered).
    let routes = routes(&node);
    assert!(
        routes
            .iter()
            .any(|r| r["dst"] == "192.168.1.0/24" && r["dev"] == "eth1" && r["scope"] == "link"),
        "{routes:#?}"
    );
    assert!(!routes.iter().any(|r| r["dst"] == "default"), "{routes:#?}");

    let lease = wait_lease(&d, SETTLE, |l| l["state"] == "bound");
    assert_eq!(lease["link"], "eth1");
    assert_eq!(lease["address"], RESERVED);
    assert_eq!(lease["server"], "192.168.1.254");
    assert_eq!(lease["leaseSecs"], 120);
    assert_eq!(lease["reserved"], "192.168.1.3");
    assert_eq!(lease["differsFromReserved"], false);
    assert_eq!(lease["defaultRoute"], false);
    assert!(lease["renewInSecs"].as_u64().unwrap() <= 60);
    // Kept on disk for a restart.
    assert!(wait_until(SETTLE, || node.path("dhcp-eth1.json").exists()).is_some());

    // The server saw our hostname and MAC; dnsmasq logs the client id.
    let log = server.log();
    assert!(
        log.contains("DHCPACK(sw-eth1) 192.168.1.3 52:54:00:01:01:03 agent-1"),
        "{log}"
    );
    assert!(log.contains("client provides name: agent-1"), "{log}");

    // k3s is told the reserved address.
    let out = Command::new(env!("CARGO_BIN_EXE_n3xnetctl"))
        .arg("k3s-flags")
        .arg("--profile")
        .arg(node.path("profile.toml"))
        .args(["--node", "agent-1", "--role", "agent"])
        .output()
        .unwrap();
    let flags = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{flags}");
    assert!(flags.contains("--node-ip=192.168.1.3"), "{flags}");
    assert!(flags.contains("--flannel-iface=eth1"), "{flags}");
    assert_eq!(d.stop().code(), Some(0));
}

#[test]
fn renewal_at_t1_extends_the_lease_in_place() {
    if !netns_tier() {
        return;
    }
    let (node, server, d, first) = bound_agent(&FAST_RENEWAL);
    assert_eq!(
        (first["t1Secs"].as_u64(), first["t2Secs"].as_u64()),
        (Some(3), Some(6))
    );
    let monitor = Monitor::start(&node.ns, node.dir.path());
    let acks = server.acks();

    // Two renewals, each a unicast REQUEST answered by the server.
    assert!(
        wait_until(SETTLE, || server.acks() >= acks + 2).is_some(),
        "no renewals:\n{}",
        server.log()
    );
    let renewed = wait_lease(&d, SETTLE, |l| {
        l["state"] == "bound" && l["acquiredAtMs"].as_u64() > first["acquiredAtMs"].as_u64()
    });
    assert_eq!(renewed["address"], RESERVED);
    // The kernel's lifetime was refreshed, the address never removed.
    let (addr, valid, _) = eth1_addresses(&node).remove(0);
    assert_eq!(addr, RESERVED);
    assert!(valid >= 112, "valid_lft not refreshed: {valid}");
    assert_eq!(monitor.eth1_deletions(), Vec::<String>::new());
    let log = server.log();
    assert!(
        log.contains("DHCPREQUEST(sw-eth1) 192.168.1.3 52:54:00:01:01:03"),
        "{log}"
    );
}

#[test]
fn server_gone_renew_rebind_then_expiry_removes_the_address() {
    if !netns_tier() {
        return;
    }
    let (node, mut server, mut d, _) = bound_agent(&FAST_RENEWAL);
    server.stop();

    wait_lease(&d, SETTLE, |l| l["state"] == "renewing");
    wait_lease(&d, SETTLE, |l| l["state"] == "rebinding");
    // Still holding the address while rebinding, and saying so.
    assert_eq!(eth1_addresses(&node)[0].0, RESERVED);
    let rebinding = d
        .wait_notify(SETTLE, |m| {
            status_line(m).is_some_and(|s| s.contains("not answering"))
        })
        .expect("a STATUS= about the rebinding");
    assert!(
        status_line(&rebinding).unwrap().starts_with(
            "online: cluster ok; eth1: DHCP server 192.168.1.254 not answering, \
             lease 192.168.1.3/24 expires at "
        ),
        "{rebinding}"
    );

    let expired = d
        .wait_notify(LEASE + SETTLE, |m| {
            status_line(m)
                .is_some_and(|s| s.starts_with("offline") && s.contains("expired; address removed"))
        })
        .unwrap_or_else(|| panic!("no STATUS= about the expiry; log:\n{}", d.log()));
    assert_eq!(
        status_line(&expired),
        Some(
            "offline: cluster down (eth1: no DHCP lease); \
             eth1: DHCP lease 192.168.1.3/24 from 192.168.1.254 expired; address removed"
        )
    );
    assert!(eth1_addresses(&node).is_empty());
    assert!(!routes(&node).iter().any(|r| r["dev"] == "eth1"));
    let lease = wait_lease(&d, SETTLE, |l| l["state"] == "selecting");
    assert!(lease["event"].as_str().unwrap().contains("expired"));
    assert!(lease.get("address").is_none());
    // The lease file goes right after the address (the status is published
    // before the kernel and the disk are changed).
    assert!(
        wait_until(SETTLE, || !node.path("dhcp-eth1.json").exists()).is_some(),
        "the expired lease stays on disk"
    );
    // The status contract: status.json is written before STATUS= says it,
    // so a reader that saw the offline STATUS= never reads an older file.
    assert_eq!(d.status()["health"]["online"], false);
}

#[test]
fn restart_keeps_the_address_without_a_flap() {
    if !netns_tier() {
        return;
    }
    let (node, server, d, _) = bound_agent(&[]);
    let monitor = Monitor::start(&node.ns, node.dir.path());
    assert_eq!(d.stop().code(), Some(0));
    // The address outlives the daemon (the kernel holds its lifetime).
    assert_eq!(eth1_addresses(&node)[0].0, RESERVED);
    let acks = server.acks();

    let mut d = start_daemon(&node);
    let ready = d.wait_ready();
    assert_eq!(status_line(&ready), Some("online: cluster ok"));
    // Online at once: the lease's address never left.
    assert!(
        wait_until(SETTLE, || d.log().contains("resuming the saved lease")).is_some(),
        "{}",
        d.log()
    );
    // Confirmed with the server at once (a renewal, not a new discovery).
    assert!(
        wait_until(SETTLE, || server.acks() > acks).is_some(),
        "{}",
        server.log()
    );
    let log = server.log();
    assert_eq!(log.matches("DHCPDISCOVER").count(), 1, "{log}");
    wait_lease(&d, SETTLE, |l| {
        l["state"] == "bound" && l["address"] == RESERVED
    });
    assert_eq!(monitor.eth1_deletions(), Vec::<String>::new());
    assert_eq!(eth1_addresses(&node).len(), 1);
}

#[test]
fn a_second_server_does_not_move_a_bound_lease() {
    if !netns_tier() {
        return;
    }
    let node = agent_1();
    // A bridge on the switch, so a second server shares the segment.
    node.sw.ip("addr del 192.168.1.254/24 dev sw-eth1");
    node.sw.ip("link add br0 type bridge");
    node.sw.ip("link set sw-eth1 master br0");
    node.sw.ip("addr add 192.168.1.254/24 dev br0");
    node.sw.ip("link set br0 up");
    let other = Netns::new();
    other.nic("eth0", &node.sw, "sw-other");
    node.sw.ip("link set sw-other master br0");
    other.ip("addr add 192.168.1.253/24 dev eth0");
    other.ip("link set eth0 up");

    let mut args = vec![
        "--dhcp-range=192.168.1.100,192.168.1.200,255.255.255.0,2m",
        "--dhcp-host=52:54:00:01:01:03,192.168.1.3",
        "--dhcp-option=3",
    ];
    args.extend_from_slice(&FAST_RENEWAL);
    let mut first = Dnsmasq::start(&node.sw, "br0", node.dir.path(), "first", &args);
    let mut d = start_daemon(&node);
    d.wait_ready();
    wait_lease(&d, SETTLE, |l| {
        l["state"] == "bound" && l["address"] == RESERVED
    });

    // Another server on the segment, offering other addresses.
    let second = Dnsmasq::start(
        &other,
        "eth0",
        node.dir.path(),
        "second",
        // Authoritative: it refuses (NAKs) addresses it does not know.
        &[
            "--dhcp-range=192.168.1.150,192.168.1.160,255.255.255.0,2m",
            "--dhcp-authoritative",
        ],
    );
    let monitor = Monitor::start(&node.ns, node.dir.path());
    // A restart (where a naive client discovers again) and renewals.
    assert_eq!(d.stop().code(), Some(0));
    let mut d = start_daemon(&node);
    d.wait_ready();
    let acks = first.acks();
    assert!(
        wait_until(SETTLE, || first.acks() >= acks + 2).is_some(),
        "{}",
        first.log()
    );
    assert_eq!(
        eth1_addresses(&node)
            .into_iter()
            .map(|a| a.0)
            .collect::<Vec<_>>(),
        [RESERVED]
    );
    assert_eq!(monitor.eth1_deletions(), Vec::<String>::new());
    let second_log = second.log();
    assert!(!second_log.contains("DHCPACK"), "{second_log}");
    wait_lease(&d, SETTLE, |l| {
        l["state"] == "bound" && l["address"] == RESERVED && l["server"] == "192.168.1.254"
    });

    // The lease's server goes away: at T2 the client asks every server,
    // and the second one, which does not know the reservation, refuses
    // (a non-authoritative dnsmasq would stay silent).
    // Only the lease's own server may take the lease back: it is kept.
    first.stop();
    wait_lease(&d, SETTLE, |l| l["state"] == "rebinding");
    assert!(
        wait_until(SETTLE, || second.log().contains("DHCPNAK")).is_some(),
        "{}",
        second.log()
    );
    let lease = wait_lease(&d, SETTLE, |l| {
        l["dropped"]["unexpected"].as_u64() >= Some(1)
    });
    assert_eq!(lease["state"], "rebinding");
    assert_eq!(lease["address"], RESERVED);
    assert_eq!(eth1_addresses(&node)[0].0, RESERVED);
    assert_eq!(monitor.eth1_deletions(), Vec::<String>::new());
}

#[test]
fn a_lease_other_than_the_reservation_is_flagged() {
    if !netns_tier() {
        return;
    }
    let node = agent_1();
    // A server that knows nothing of the reservation.
    let _server = Dnsmasq::start(
        &node.sw,
        "sw-eth1",
        node.dir.path(),
        "dnsmasq",
        &[
            "--dhcp-range=192.168.1.150,192.168.1.150,255.255.255.0,2m",
            "--dhcp-option=3,192.168.1.254",
        ],
    );
    let mut d = start_daemon(&node);
    let ready = d.wait_ready();
    assert_eq!(
        status_line(&ready),
        Some("online: cluster ok; eth1: DHCP leased 192.168.1.150, not the reserved 192.168.1.3")
    );
    // A router was offered and the profile routes the default nowhere
    // else: the default route goes via it, at DHCP's metric.
    let lease = wait_lease(&d, SETTLE, |l| l["defaultRoute"] == true);
    assert_eq!(lease["state"], "bound");
    assert_eq!(lease["address"], "192.168.1.150/24");
    assert_eq!(lease["router"], "192.168.1.254");
    assert_eq!(lease["differsFromReserved"], true);
    let routes = routes(&node);
    assert!(
        routes.iter().any(|r| r["dst"] == "default"
            && r["gateway"] == "192.168.1.254"
            && r["dev"] == "eth1"
            && r["metric"] == 1024),
        "{routes:#?}"
    );
}

/// Sends hostile datagrams to the node's port 68 from the switch: random
/// bytes, a truncated message, an ACK for our MAC the client never asked
/// for, and an ACK for another client.
const HOSTILE: &str = r#"
import os, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.168.1.254", 67))
def ack(chaddr, xid):
    ip = socket.inet_aton
    head = struct.pack("!BBBBIHH4s4s4s4s", 2, 1, 6, 0, xid, 0, 0,
                       ip("0.0.0.0"), ip("192.168.1.77"), ip("0.0.0.0"), ip("0.0.0.0"))
    head += chaddr + b"\0" * 10 + b"\0" * 192 + bytes([99, 130, 83, 99])
    opts = bytes([53, 1, 5, 54, 4, 192, 168, 1, 253, 1, 4, 255, 255, 255, 0,
                  51, 4, 0, 0, 0, 120, 255])
    return head + opts
mac = bytes.fromhex("525400010103")
for p in [os.urandom(300), b"\x02" * 10, ack(mac, 12345), ack(b"\x01" * 6, 1)]:
    s.sendto(p, ("192.168.1.3", 68))
"#;

#[test]
fn hostile_packets_are_dropped_and_counted() {
    if !netns_tier() {
        return;
    }
    let (node, mut server, mut d, _) = bound_agent(&[]);
    // The server's port is ours now (T1 is a minute away).
    server.stop();
    let out = node.sw.exec(&["python3", "-c", HOSTILE]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lease = wait_lease(&d, SETTLE, |l| {
        l["dropped"]["malformed"] == 2
            && l["dropped"]["unexpected"] == 1
            && l["dropped"]["wrong-chaddr"] == 1
    });
    // Nothing changed: same lease, same address, daemon running.
    assert_eq!(lease["state"], "bound");
    assert_eq!(lease["server"], "192.168.1.254");
    assert_eq!(
        eth1_addresses(&node)
            .into_iter()
            .map(|a| a.0)
            .collect::<Vec<_>>(),
        [RESERVED]
    );
    assert!(d.running());
}

#[test]
fn a_lease_address_removed_by_someone_else_is_put_back() {
    if !netns_tier() {
        return;
    }
    let (node, _server, d, _) = bound_agent(&[]);
    node.ns.ip(&format!("addr del {RESERVED} dev eth1"));
    let back = wait_until(SETTLE, || {
        eth1_addresses(&node)
            .iter()
            .any(|(a, valid, dynamic)| a == RESERVED && *dynamic && *valid > 100)
    });
    assert!(back.is_some(), "not put back; log:\n{}", d.log());
    assert!(d.log().contains("removed by someone else"), "{}", d.log());
    // Online (again, if the supervisor saw the gap at all).
    d.wait_status(|s| s["health"]["online"] == true && s["status"] == "online: cluster ok");
}

#[test]
fn an_address_in_use_is_declined_and_another_lease_taken() {
    if !netns_tier() {
        return;
    }
    let node = agent_1();
    // Someone on the segment already holds the reserved address.
    node.sw.ip("addr add 192.168.1.3/24 dev sw-eth1");
    let holder = node.sw.link("sw-eth1")["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = Dnsmasq::profile_server(&node, &[]);
    let d = start_daemon(&node);
    let declined = wait_lease(&d, SETTLE, |l| l["event"].is_string());
    assert_eq!(
        declined["event"],
        format!("declined 192.168.1.3 offered by 192.168.1.254: in use by {holder}").as_str()
    );
    assert!(eth1_addresses(&node).is_empty());
    assert!(
        wait_until(SETTLE, || server
            .log()
            .contains("DHCPDECLINE(sw-eth1) 192.168.1.3"))
        .is_some(),
        "{}",
        server.log()
    );
    // After RFC 2131's 10 s, discovery again: dnsmasq holds the declined
    // address back and offers one of its range, which is flagged.
    let lease = wait_lease(&d, Duration::from_secs(10) + SETTLE, |l| {
        l["state"] == "bound"
    });
    assert_ne!(lease["address"], RESERVED);
    assert_eq!(lease["differsFromReserved"], true);
    assert!(lease.get("event").is_none());
    assert_eq!(eth1_addresses(&node).len(), 1);
}

#[test]
fn carrier_back_confirms_the_lease_at_once() {
    if !netns_tier() {
        return;
    }
    let (node, server, d, _) = bound_agent(&[]);
    let requests = || server.log().matches("DHCPREQUEST(").count();
    let before = requests();
    // A cable pull and plug: T1 is a minute away, yet the lease is
    // confirmed with the server at once.
    node.sw.ip("link set sw-eth1 down");
    let carrier = || {
        node.ns.link("eth1")["flags"]
            .to_string()
            .contains("LOWER_UP")
    };
    assert!(wait_until(SETTLE, || !carrier()).is_some());
    node.sw.ip("link set sw-eth1 up");
    assert!(
        wait_until(SETTLE, || requests() > before).is_some(),
        "no renewal after the carrier came back:\n{}\n{}",
        server.log(),
        d.log()
    );
    assert!(d.log().contains("carrier back"), "{}", d.log());
    wait_lease(&d, SETTLE, |l| {
        l["state"] == "bound" && l["address"] == RESERVED
    });

    // Pull and plug in one go: the carrier is on whenever the daemon
    // looks, only the kernel's carrier-down counter tells.
    let before = requests();
    let mut batch = Command::new("ip")
        .args(["-n", &node.sw.name, "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        batch.stdin.as_mut().unwrap(),
        b"link set sw-eth1 down\nlink set sw-eth1 up\n",
    )
    .unwrap();
    drop(batch.stdin.take());
    assert!(batch.wait().unwrap().success());
    assert!(
        wait_until(SETTLE, || requests() > before).is_some(),
        "no renewal after a pull and plug quicker than the events:\n{}",
        d.log()
    );
}
