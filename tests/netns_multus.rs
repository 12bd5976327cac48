//! A Multus network across two nodes, host side and pod side, with the real
//! CNI plugins of Debian's containernetworking-plugins (`/usr/lib/cni`).
//!
//! Two "nodes" (netns) each have their NIC eth1 on a shared "switch" (a
//! bridge in a third netns). `n3xnetctl apply` gives each node its cluster
//! address and the profile's macvlan host shim; `n3xnetctl render multus
//! --node N --out DIR` writes the node's `<nad>.conf`, and "pods" (netns)
//! are attached by executing the macvlan plugin exactly as Multus does: in
//! the node's network namespace, `CNI_COMMAND`, `CNI_CONTAINERID`,
//! `CNI_NETNS`, `CNI_IFNAME`, `CNI_PATH` in the environment, the node's
//! config on stdin, the result JSON on stdout. Each node keeps host-local's
//! allocations in its own `/var/lib/cni` (a private mount namespace), as
//! two machines would. Last, a `static` NAD's config (its `spec.config`)
//! with the pod's address as Multus passes it.

mod netns_util;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netns_util::{netns_tier, Netns};
use serde_json::Value;

const CNI_PATH: &str = "/usr/lib/cni";
const CTL: &str = env!("CARGO_BIN_EXE_n3xnetctl");

/// The shipped demo profile (server-1 at 192.168.1.1, agent-1 at .3, the
/// macvlan network `pods` on eth1 with shims 192.168.30.1 and .3), its
/// range cut into blocks of 4 so DEL/ADD cycles go round a slice: server-1
/// (host 1) gets .14-.17, agent-1 (host 3) .22-.25.
fn profile_text() -> String {
    format!("{}podsPerNode = 4\n", include_str!("../profiles/demo.toml"))
}

/// One node: its netns, name, rendered CNI config and host-local state.
struct Node {
    ns: Netns,
    name: &'static str,
    config: String,
    cni_state: PathBuf,
    slice: (Ipv4Addr, Ipv4Addr),
    shim: Ipv4Addr,
}

/// A pod attached to a node: its netns, the address the plugin gave it,
/// and the ADD result (what Multus' libcni caches and hands back as
/// `prevResult` on CHECK and DEL).
struct Pod {
    ns: Netns,
    id: String,
    addr: Ipv4Addr,
    result: Value,
}

fn ctl(args: &[&str]) -> String {
    let out = Command::new(CTL).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "n3xnetctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Node {
    fn new(name: &'static str, switch: &Netns, dir: &Path, profile: &Path) -> Node {
        let ns = Netns::new();
        let port = format!("p-{name}");
        ns.nic("eth1", switch, &port);
        switch.ip(&format!("link set {port} master br0"));
        ctl(&[
            "apply",
            "--node",
            name,
            "--netns",
            &ns.name,
            "--profile",
            profile.to_str().unwrap(),
        ]);
        let out = dir.join(name);
        let listed = ctl(&[
            "render",
            "multus",
            "--profile",
            profile.to_str().unwrap(),
            "--node",
            name,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(listed.trim(), out.join("pods.conf").to_str().unwrap());
        let config = std::fs::read_to_string(out.join("pods.conf")).unwrap();
        let parsed: Value = serde_json::from_str(&config).unwrap();
        // A dual-stack network's host-local config has one range set per
        // family, IPv4 first; an IPv4 one the flat form.
        let ipam = &parsed["ipam"];
        let v4 = ipam.get("ranges").map_or(ipam, |r| &r[0][0]);
        let ip = |k: &str| v4[k].as_str().unwrap().parse().unwrap();
        let slice = (ip("rangeStart"), ip("rangeEnd"));
        let cni_state = dir.join(format!("{name}-var-lib-cni"));
        std::fs::create_dir_all(&cni_state).unwrap();
        let shim = ns.ipv4("mv-pods")[0]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        Node {
            ns,
            name,
            config,
            cni_state,
            slice,
            shim,
        }
    }

    /// Runs the macvlan plugin for `pod` as Multus would on this node, with
    /// the node's config (plus `prevResult`, as libcni adds it for CHECK and
    /// DEL); the result JSON, or the plugin's error.
    fn cni(
        &self,
        command: &str,
        pod: &Netns,
        id: &str,
        prev: Option<&Value>,
    ) -> Result<Value, String> {
        let mut config: Value = serde_json::from_str(&self.config).unwrap();
        if let Some(prev) = prev {
            config["prevResult"] = prev.clone();
        }
        self.run_plugin(&config, command, pod, id)
    }

    /// Runs the macvlan plugin with `config` on stdin, in this node's
    /// network namespace and with its own `/var/lib/cni`.
    fn run_plugin(
        &self,
        config: &Value,
        command: &str,
        pod: &Netns,
        id: &str,
    ) -> Result<Value, String> {
        let script = "mount -t tmpfs tmpfs /var/lib && mkdir /var/lib/cni && \
                      mount --bind \"$0\" /var/lib/cni && exec ip netns exec \"$1\" \"$2\"";
        let mut child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", script])
            .arg(&self.cni_state)
            .arg(&self.ns.name)
            .arg(format!("{CNI_PATH}/macvlan"))
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", id)
            .env("CNI_NETNS", format!("/run/netns/{}", pod.name))
            .env("CNI_IFNAME", "net1")
            .env("CNI_PATH", CNI_PATH)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(config.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
        }
        if stdout.trim().is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_str(&stdout).unwrap())
    }

    fn add(&self, id: &str) -> Pod {
        let ns = Netns::new();
        let result = self
            .cni("ADD", &ns, id, None)
            .unwrap_or_else(|e| panic!("{} ADD {id}: {e}", self.name));
        assert_eq!(result["cniVersion"], "0.4.0", "{result}");
        let address = result["ips"][0]["address"].as_str().unwrap();
        let addr: Ipv4Addr = address.split('/').next().unwrap().parse().unwrap();
        assert_eq!(address, format!("{addr}/24"));
        // The kernel agrees with the result.
        assert_eq!(ns.ipv4("net1"), [address]);
        assert_eq!(ns.link("net1")["linkinfo"]["info_data"]["mode"], "bridge");
        let pod = Pod {
            ns,
            id: id.into(),
            addr,
            result,
        };
        self.check(&pod)
            .unwrap_or_else(|e| panic!("{} CHECK {id} right after ADD: {e}", self.name));
        pod
    }

    fn check(&self, pod: &Pod) -> Result<Value, String> {
        self.cni("CHECK", &pod.ns, &pod.id, Some(&pod.result))
    }

    fn del(&self, pod: Pod) {
        self.cni("DEL", &pod.ns, &pod.id, Some(&pod.result))
            .unwrap_or_else(|e| panic!("{} DEL {}: {e}", self.name, pod.id));
        assert!(pod.ns.try_ip("link show dev net1").stdout.is_empty());
    }

    fn in_slice(&self, a: Ipv4Addr) -> bool {
        (self.slice.0..=self.slice.1).contains(&a)
    }
}

fn ping_once(from: &Netns, to: IpAddr) -> bool {
    from.exec(&["ping", "-c", "1", "-W", "1", &to.to_string()])
        .status
        .success()
}

/// Waits (up to 10 s, an IPv6 address's DAD included) until `from` reaches
/// `to`.
fn reaches(from: &Netns, to: impl Into<IpAddr>) -> bool {
    let to = to.into();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if ping_once(from, to) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
    }
}

/// Fails to reach `to` in two tries, one second each.
fn cannot_reach(from: &Netns, to: Ipv4Addr) -> bool {
    !from
        .exec(&["ping", "-c", "2", "-W", "1", &to.to_string()])
        .status
        .success()
}

#[test]
fn pods_on_two_nodes_get_disjoint_slices_and_reach_each_other_and_the_shims() {
    if !netns_tier() {
        return;
    }
    assert!(
        Path::new(CNI_PATH).join("macvlan").exists(),
        "{CNI_PATH}/macvlan missing: run scripts/install-deps cni"
    );
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(&profile, profile_text()).unwrap();
    let switch = Netns::new();
    switch.ip("link add br0 type bridge");
    switch.ip("link set br0 up");
    let a = Node::new("server-1", &switch, dir.path(), &profile);
    let b = Node::new("agent-1", &switch, dir.path(), &profile);
    assert_eq!(a.shim, Ipv4Addr::new(192, 168, 30, 1));
    assert_eq!(b.shim, Ipv4Addr::new(192, 168, 30, 3));

    // Pods come from their node's slice; DEL/ADD cycles in a 4-address
    // slice rotate through it without ever reusing a live address.
    let mut pods_a = vec![a.add("a0"), a.add("a1")];
    let mut pods_b = vec![b.add("b0"), b.add("b1")];
    for cycle in 0..3 {
        a.del(pods_a.remove(0));
        pods_a.push(a.add(&format!("a{}", cycle + 2)));
        b.del(pods_b.remove(0));
        pods_b.push(b.add(&format!("b{}", cycle + 2)));
        let live: BTreeSet<Ipv4Addr> = pods_a.iter().chain(&pods_b).map(|p| p.addr).collect();
        assert_eq!(live.len(), 4, "an address given twice: {live:?}");
    }
    assert!(a.slice.1 < b.slice.0, "{:?} {:?}", a.slice, b.slice);
    for p in &pods_a {
        assert!(a.in_slice(p.addr), "{} outside {:?}", p.addr, a.slice);
    }
    for p in &pods_b {
        assert!(b.in_slice(p.addr), "{} outside {:?}", p.addr, b.slice);
    }

    // Each node reaches its own pods through its shim; pods reach the
    // other node's pods and shim.
    for (node, own, other, other_node) in [(&a, &pods_a, &pods_b, &b), (&b, &pods_b, &pods_a, &a)] {
        for p in own {
            assert!(
                reaches(&node.ns, p.addr),
                "{} -> own pod {}",
                node.name,
                p.addr
            );
        }
        let pod = &own[0];
        assert!(
            reaches(&pod.ns, other[0].addr),
            "pod {} -> pod {}",
            pod.addr,
            other[0].addr
        );
        assert!(
            reaches(&pod.ns, other_node.shim),
            "pod {} -> {} shim",
            pod.addr,
            other_node.name
        );
    }

    // Why the shim exists: with the node's pod-network address on the
    // master itself instead, the kernel keeps the master from its macvlan
    // children, so server-1 loses its own pod while agent-1's stays in reach.
    a.ns.ip("link del mv-pods");
    a.ns.ip("addr add 192.168.30.1/24 dev eth1");
    assert!(
        cannot_reach(&a.ns, pods_a[0].addr),
        "server-1 reached its pod without a shim"
    );
    assert!(
        reaches(&a.ns, pods_b[0].addr),
        "server-1 -> agent-1's pod over the wire"
    );
    a.ns.ip("addr del 192.168.30.1/24 dev eth1");
    ctl(&[
        "apply",
        "--node",
        "server-1",
        "--netns",
        &a.ns.name,
        "--profile",
        profile.to_str().unwrap(),
    ]);
    assert!(
        reaches(&a.ns, pods_a[0].addr),
        "server-1 -> own pod with the shim back"
    );

    // A full slice refuses the next pod rather than stepping outside it.
    pods_a.push(a.add("a8"));
    pods_a.push(a.add("a9"));
    let extra = Netns::new();
    let e = a.cni("ADD", &extra, "a10", None).unwrap_err();
    assert!(e.contains("no IP addresses available"), "{e}");
    // CHECK sees a pod whose address went away.
    let broken = &pods_a[0];
    broken
        .ns
        .ip(&format!("addr del {}/24 dev net1", broken.addr));
    assert!(
        a.check(broken).is_err(),
        "CHECK passed without the pod's address"
    );
    broken
        .ns
        .ip(&format!("addr add {}/24 dev net1", broken.addr));
    a.check(broken).unwrap();
    for p in pods_a {
        a.del(p);
    }
    static_ipam_takes_the_pods_address(&a, dir.path());
    for p in pods_b {
        b.del(p);
    }
}

/// A dual-stack Multus network (`subnet` an IPv4/IPv6 pair): the shim
/// carries the IPv6 twin of its address (IPv4 in the prefix's last 32 bits)
/// and its link-local address, host-local gives each pod one address per
/// family from the node's slice and its twin, and the node reaches its
/// pods and the other node's over IPv6 too.
#[test]
fn a_dual_stack_network_gives_pods_both_families_from_twin_slices() {
    if !netns_tier() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    let text = profile_text().replace(
        "subnet = \"192.168.30.0/24\"",
        "subnet = [\"192.168.30.0/24\", \"fd00:30::/64\"]",
    );
    std::fs::write(&profile, text).unwrap();
    let switch = Netns::new();
    switch.ip("link add br0 type bridge");
    switch.ip("link set br0 up");
    let a = Node::new("server-1", &switch, dir.path(), &profile);
    let b = Node::new("agent-1", &switch, dir.path(), &profile);
    let v6_on = |ns: &Netns, dev: &str| -> Vec<String> {
        let v = ns.ip_json(&format!("-6 addr show dev {dev}"));
        v[0]["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
            .collect()
    };
    let mut on_shim = v6_on(&a.ns, "mv-pods");
    on_shim.sort();
    assert_eq!(on_shim, ["fd00:30::c0a8:1e01/64", "fe80::c0a8:1e01/64"]);
    let ranges: Value = serde_json::from_str(&a.config).unwrap();
    let v6_range = &ranges["ipam"]["ranges"][1][0];
    assert_eq!(v6_range["subnet"], "fd00:30::/64");
    // server-1's slice .14-.17 and its twin.
    assert_eq!(v6_range["rangeStart"], "fd00:30::c0a8:1e0e");
    assert_eq!(v6_range["rangeEnd"], "fd00:30::c0a8:1e11");

    let twin = |v4: Ipv4Addr| -> Ipv6Addr {
        Ipv6Addr::from((0xfd00_0030_u128 << 96) | u128::from(u32::from(v4)))
    };
    let v6_of = |node: &Node, pod: &Pod| -> Ipv6Addr {
        let ips = pod.result["ips"].as_array().unwrap();
        assert_eq!(ips.len(), 2, "{}", pod.result);
        let address = ips[1]["address"].as_str().unwrap();
        let (addr, len) = address.split_once('/').unwrap();
        assert_eq!(len, "64", "{address}");
        let addr: Ipv6Addr = addr.parse().unwrap();
        // From the twin of the node's slice; the kernel agrees.
        assert!(
            (twin(node.slice.0)..=twin(node.slice.1)).contains(&addr),
            "{addr} outside the twin of {:?}",
            node.slice
        );
        assert!(v6_on(&pod.ns, "net1").contains(&address.to_string()));
        addr
    };
    let pa = a.add("a0");
    let pb = b.add("b0");
    let (va, vb) = (v6_of(&a, &pa), v6_of(&b, &pb));
    for (from, to, what) in [
        (&a.ns, va, "server-1 -> own pod over IPv6, through its shim"),
        (&pa.ns, vb, "pod on server-1 -> pod on agent-1 over IPv6"),
        (
            &pb.ns,
            twin(a.shim),
            "pod on agent-1 -> server-1's shim over IPv6",
        ),
    ] {
        assert!(reaches(from, to), "{what} ({to})");
    }
    a.del(pa);
    b.del(pb);
}

/// `ipam = "static"`: the NAD's own config (`spec.config`), with the pod's
/// address as Multus passes it for `capabilities.ips` (`runtimeConfig.ips`
/// from the pod's network selection annotation).
fn static_ipam_takes_the_pods_address(node: &Node, dir: &Path) {
    let profile = dir.join("static.toml");
    let text = profile_text()
        .replace("rangeStart = \"192.168.30.10\"\n", "ipam = \"static\"\n")
        .replace("rangeEnd = \"192.168.30.250\"\n", "")
        .replace("podsPerNode = 4\n", "");
    std::fs::write(&profile, text).unwrap();
    let yaml = ctl(&["render", "multus", "--profile", profile.to_str().unwrap()]);
    let (_, block) = yaml.split_once("  config: |\n").unwrap();
    let json: String = block.lines().map(|l| l.trim_start()).collect();
    let mut config: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(config["capabilities"]["ips"], true);
    config["runtimeConfig"] = serde_json::json!({"ips": ["192.168.30.200/24"]});
    let pod = Netns::new();
    let result = node.run_plugin(&config, "ADD", &pod, "static").unwrap();
    assert_eq!(result["ips"][0]["address"], "192.168.30.200/24", "{result}");
    assert_eq!(pod.ipv4("net1"), ["192.168.30.200/24"]);
    assert!(reaches(&node.ns, Ipv4Addr::new(192, 168, 30, 200)));
    node.run_plugin(&config, "DEL", &pod, "static").unwrap();
}
