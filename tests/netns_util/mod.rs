//! Shared fixtures of the netns test tier: a fresh network namespace per
//! test (always deleted), `ip` helpers whose JSON output is the independent
//! witness of what the kernel holds, and the root requirement.
#![allow(dead_code)] // each test crate uses a different part of it

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use n3xnet::desired::DesiredNetwork;
use n3xnet::engine::{self, ApplyOptions, ApplyReport, EngineError};
use n3xnet::netlink::Handle;
use n3xnet::state::KernelState;
use serde_json::Value;

/// `true` when the tier can run. Without root it FAILS (so CI cannot go
/// green by accident), unless `N3XNET_NO_NETNS=1` asks to skip, loudly.
pub fn netns_tier() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("N3XNET_NO_NETNS").as_deref() == Ok("1") {
        eprintln!("\n!!!!!!!! N3XNET_NO_NETNS=1: netns test tier SKIPPED (needs root) !!!!!!!!\n");
        return false;
    }
    panic!(
        "the netns test tier needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root, \
         or set N3XNET_NO_NETNS=1 to skip it explicitly"
    );
}

/// A network namespace `n3xt-<random>`, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "n3xt-{:x}-{:x}-{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip("link set lo up");
        ns
    }

    /// Runs `ip -n NS <args>`, panicking with its stderr on failure.
    pub fn ip(&self, args: &str) -> String {
        let out = self.try_ip(args);
        assert!(
            out.status.success(),
            "ip -n {} {args}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn try_ip(&self, args: &str) -> Output {
        let mut full = vec!["-n", &self.name];
        full.extend(args.split_whitespace());
        Command::new("ip").args(&full).output().unwrap()
    }

    pub fn ip_json(&self, args: &str) -> Value {
        serde_json::from_str(&self.ip(&format!("-j {args}"))).unwrap()
    }

    /// `ip -d -j link show NAME` as one object.
    pub fn link(&self, name: &str) -> Value {
        self.ip_json(&format!("-d link show dev {name}"))[0].clone()
    }

    /// A link's `IFLA_GROUP` as a number (`ip -N`: not the name that
    /// `/etc/iproute2/group` may give it).
    pub fn group(&self, name: &str) -> String {
        self.ip_json(&format!("-N link show dev {name}"))[0]["group"]
            .as_str()
            .unwrap_or_else(|| panic!("no group for {name}"))
            .to_owned()
    }

    /// The IPv4 addresses (`a.b.c.d/len`) of a link.
    pub fn ipv4(&self, name: &str) -> Vec<String> {
        self.ip_json(&format!("-4 addr show dev {name}"))[0]["addr_info"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| format!("{}/{}", i["local"].as_str().unwrap(), i["prefixlen"]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, cmd: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", &self.name];
        full.extend_from_slice(cmd);
        Command::new("ip").args(&full).output().unwrap()
    }

    /// Runs `f` on a thread of its own that has joined the namespace, so
    /// the sockets it opens (a client of a server listening there) are
    /// the namespace's; the test's own threads stay where they are.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = std::fs::File::open(&path).unwrap();
                nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                f()
            })
            .join()
            .unwrap()
        })
    }

    /// Links, addresses and main-table routes of both families (`ip -j`),
    /// as a before/after snapshot.
    pub fn snapshot(&self) -> [String; 3] {
        [
            self.ip("-d -j link show"),
            self.ip("-j addr show"),
            self.ip("-j route show") + &self.ip("-6 -j route show"),
        ]
    }

    /// [`Self::snapshot`] once the kernel has settled: no link still
    /// waiting for its carrier (a veth whose peer just came up), no IPv6
    /// address still tentative (DAD), so a later snapshot differs only by
    /// what the test did.
    pub fn settled(&self) -> [String; 3] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.snapshot();
            let busy = s[0].contains("NO-CARRIER") || s[1].contains("\"tentative\"");
            if !busy {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "the namespace never settled: {s:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// n3xnet's own dump of this namespace (links, addresses, routes).
    pub fn dump(&self) -> KernelState {
        runtime().block_on(async {
            Handle::open(Some(&self.name))
                .unwrap()
                .dump()
                .await
                .unwrap()
        })
    }

    /// Waits (up to 10 s) until no IPv6 address here is still tentative:
    /// duplicate address detection is over.
    pub fn wait_dad(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ip("-6 -j addr show").contains("\"tentative\"") {
            assert!(
                Instant::now() < deadline,
                "DAD never ended: {}",
                self.ip("-6 addr show")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A veth pair `name` (here) ↔ `peer` (in `other`, up there), the stand-in
    /// for a NIC and the switch port behind it.
    pub fn nic(&self, name: &str, other: &Netns, peer: &str) {
        self.ip(&format!(
            "link add {name} type veth peer name {peer} netns {}",
            other.name
        ));
        other.ip(&format!("link set {peer} up"));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A current-thread runtime, as the CLI uses.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A benchmark's comma-separated list of numbers from the environment
/// (`N3XNET_BENCH_N=10,100`), or `default`.
pub fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect()
}

/// The node name of [`shim_profile`].
pub const SHIM_NODE: &str = "bench";

/// A node with its NIC eth1 configured as [`shim_profile`] wants it
/// (cluster address, up, no IPv6 autoconf), so an apply only adds shims.
pub fn shim_node() -> (Netns, Netns) {
    let ns = Netns::new();
    let sw = Netns::new();
    ns.nic("eth1", &sw, "sw-eth1");
    ns.ip("link set eth1 addrgenmode none");
    ns.ip("addr add 10.99.0.1/24 dev eth1");
    ns.ip("link set eth1 up");
    (ns, sw)
}

/// Shim `i`'s subnet: a /24 of its own, so no two overlap.
pub fn shim_subnet(i: usize) -> String {
    format!("10.{}.{}", 100 + i / 256, i % 256)
}

/// `BIN CMD --json` on a [`shim_profile`] file for [`SHIM_NODE`] inside `ns`.
pub fn shim_ctl(
    bin: &std::path::Path,
    cmd: &str,
    ns: &Netns,
    profile: &std::path::Path,
) -> Command {
    let mut c = Command::new(bin);
    c.args([
        cmd,
        "--json",
        "--node",
        SHIM_NODE,
        "--netns",
        &ns.name,
        "--profile",
    ])
    .arg(profile);
    c
}

/// A profile for [`SHIM_NODE`]: eth1 as the cluster NIC and `n` macvlan
/// NADs, each with a host shim `mv<i>` and an address outside its IPAM range.
pub fn shim_profile(n: usize) -> String {
    let mut p = format!(
        "serverApi = \"https://10.99.0.1:6443\"\n\
         clusterCidr = \"10.42.0.0/16\"\n\
         serviceCidr = \"10.43.0.0/16\"\n\n\
         [interfaces]\ncluster = \"eth1\"\n\n\
         [ipAddresses]\n{SHIM_NODE} = {{ cluster = \"10.99.0.1/24\" }}\n"
    );
    for i in 0..n {
        let s = shim_subnet(i);
        p += &format!(
            "\n[multus.shim-{i}]\ntype = \"macvlan\"\nmaster = \"eth1\"\nmode = \"bridge\"\n\
             subnet = \"{s}.0/24\"\nrangeStart = \"{s}.10\"\nrangeEnd = \"{s}.250\"\n\
             hostInterface = \"mv{i}\"\nhostAddresses = {{ {SHIM_NODE} = \"{s}.1\" }}\n"
        );
    }
    p
}

/// One apply of `d` in `ns` (writer lock taken), whatever its outcome.
pub fn try_apply(ns: &Netns, d: &DesiredNetwork) -> Result<ApplyReport, EngineError> {
    runtime().block_on(async {
        let h = Handle::open(Some(&ns.name)).unwrap();
        let lock = engine::lock::acquire(h.netns(), None).await?;
        engine::apply(&h, d, &ApplyOptions::default(), &lock).await
    })
}

/// One apply that must leave the kernel as desired.
pub fn apply(ns: &Netns, d: &DesiredNetwork) -> ApplyReport {
    let r = try_apply(ns, d).unwrap();
    assert!(r.outcome.converged(), "{}", r.summary());
    r
}
