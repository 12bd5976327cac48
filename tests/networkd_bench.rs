//! Benchmark, not a test: `n3xnetd` against Debian's `systemd-networkd`
//! from process spawn to READY=1 and to "configured" (every link, address
//! and route the profile wants present in the kernel), on this machine's
//! kernel, each in a fresh network namespace per run. Opt-in, release build:
//!
//! `cargo test --release --test networkd_bench -- --ignored --nocapture`
//!
//! Why here and not only in the systemd VM: under TCG the VM measurement is
//! QEMU's and the guest systemd's time, not the daemons'.
//!
//! Both daemons start the same way, through the same wrapper (so its cost,
//! printed apart, is in both numbers): `ip netns exec NS unshare --mount`
//! and a shell that, in that private mount namespace, binds the files of
//! `n3xnetctl render networkd` over `/etc/systemd/network`, a test
//! directory over `/run/systemd` (networkd's state files, readable from
//! here), a tmpfs over `/run/dbus` (no bus: neither may reach the host's)
//! and remounts `/sys` read-only — networkd's sign that udev is not there
//! to initialise links (the container path), as on this machine, which runs
//! no udev. The kernel witness is one `ip -ts monitor link address route`
//! in the node namespace, started (and proven listening) before the spawn:
//! an object's time is its first appearance there.
//!
//! `N3XNET_BENCH_N=10,100` (the default) adds generated profiles with N
//! macvlan shims to the demo profile; `N3XNET_BENCH_ROUNDS=7` sets the runs
//! per tool and profile. Results go to BENCHMARKS.md by hand.

mod daemon_util;
mod netns_util;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use daemon_util::{wait_until, PROFILE, SETTLE};
use netns_util::{env_list, netns_tier, Netns};

const NETWORKD: &str = "/lib/systemd/systemd-networkd";

/// The private mount namespace both daemons start in; `$1` is the rendered
/// networkd configuration, `$2` the directory standing in for
/// `/run/systemd`, the rest the daemon's command line.
const WRAPPER: &str = "mount --bind \"$1\" /etc/systemd/network && \
     mount --bind \"$2\" /run/systemd && \
     mount -t tmpfs tmpfs /run/dbus && \
     mount -o remount,bind,ro /sys && \
     shift 2 && exec \"$@\"";

/// One object of the desired state, as the kernel shows it.
#[derive(Clone, Debug)]
enum Item {
    /// A link, administratively up.
    Link(String),
    /// An IPv4 address `a.b.c.d/len` on a link.
    Addr(String, String),
    /// The default route via a gateway on a link.
    Default(String, String),
}

impl Item {
    /// Whether a line of `ip monitor` (timestamp stripped) shows the object.
    fn matches(&self, line: &str) -> bool {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match self {
            Item::Link(name) => {
                let (Some(head), Some(flags)) = (tokens.get(1), tokens.get(2)) else {
                    return false;
                };
                let link = head.trim_end_matches(':').split('@').next();
                link == Some(name.as_str())
                    && flags.starts_with('<')
                    && flags
                        .trim_matches(|c| c == '<' || c == '>')
                        .split(',')
                        .any(|f| f == "UP")
            }
            Item::Addr(link, addr) => {
                tokens.get(1) == Some(&link.as_str())
                    && tokens.get(2) == Some(&"inet")
                    && tokens.get(3) == Some(&addr.as_str())
            }
            Item::Default(gw, dev) => {
                tokens.starts_with(&["default", "via", gw.as_str(), "dev", dev.as_str()])
            }
        }
    }

    /// Whether the kernel holds the object now (`ip -j`).
    fn present(&self, ns: &Netns) -> bool {
        let exists = |link: &str| ns.try_ip(&format!("link show dev {link}")).status.success();
        match self {
            Item::Link(name) => {
                exists(name)
                    && ns.link(name)["flags"]
                        .as_array()
                        .is_some_and(|f| f.iter().any(|f| f == "UP"))
            }
            Item::Addr(link, addr) => exists(link) && ns.ipv4(link).contains(addr),
            Item::Default(gw, dev) => ns
                .ip_json("route show default")
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["gateway"] == *gw && r["dev"] == *dev)),
        }
    }
}

/// A profile, its node, and what "configured" means for it.
struct Case {
    name: String,
    dir: tempfile::TempDir,
    items: Vec<Item>,
    /// Links networkd manages (one `.network` file each).
    managed: usize,
}

impl Case {
    fn new(name: String, profile: &str, node: &str, items: Vec<Item>) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.toml");
        fs::write(&path, profile).unwrap();
        fs::write(
            dir.path().join("n3xnet.toml"),
            format!("profile = \"profile.toml\"\nnode = \"{node}\"\n"),
        )
        .unwrap();
        let network = dir.path().join("network");
        let out = Command::new(env!("CARGO_BIN_EXE_n3xnetctl"))
            .args(["render", "networkd", "--node", node, "--profile"])
            .arg(&path)
            .arg("--out")
            .arg(&network)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "render networkd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // networkd reads its configuration after dropping to systemd-network.
        for p in [dir.path().to_path_buf(), network.clone()] {
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let files: Vec<PathBuf> = fs::read_dir(&network)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        for f in &files {
            fs::set_permissions(f, fs::Permissions::from_mode(0o644)).unwrap();
        }
        let managed = files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "network"))
            .count();
        let netdevs = files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "netdev"))
            .count();
        let shims = items
            .iter()
            .filter(|i| matches!(i, Item::Link(n) if n != "eth1"))
            .count();
        assert_eq!(netdevs, shims, "the render must create every shim");
        Case {
            name,
            dir,
            items,
            managed,
        }
    }

    /// The demo profile's node server-1, as tests/daemon_bench.rs runs it.
    fn demo() -> Case {
        let eth1 = |a: &str| Item::Addr("eth1".into(), a.into());
        let items = vec![
            Item::Link("eth1".into()),
            eth1("192.168.1.1/24"),
            Item::Default("192.168.1.254".into(), "eth1".into()),
            Item::Link("mv-pods".into()),
            Item::Addr("mv-pods".into(), "192.168.30.1/24".into()),
        ];
        Case::new("demo (1 shim)".into(), PROFILE, "server-1", items)
    }

    /// `eth1` with an address and a default gateway, and `n` macvlan shims
    /// with an address each, in /24s of their own.
    fn shims(n: usize) -> Case {
        let mut profile = String::from(
            "serverApi = \"https://10.99.0.1:6443\"\n\
             clusterCidr = \"10.42.0.0/16\"\n\
             serviceCidr = \"10.43.0.0/16\"\n\
             gateway = \"10.99.0.254\"\n\n\
             [interfaces]\ncluster = \"eth1\"\n\n\
             [ipAddresses]\nbench = { cluster = \"10.99.0.1/24\" }\n",
        );
        let mut items = vec![
            Item::Link("eth1".into()),
            Item::Addr("eth1".into(), "10.99.0.1/24".into()),
            Item::Default("10.99.0.254".into(), "eth1".into()),
        ];
        for i in 0..n {
            let s = format!("10.{}.{}", 100 + i / 256, i % 256);
            profile += &format!(
                "\n[multus.shim-{i}]\ntype = \"macvlan\"\nmaster = \"eth1\"\nmode = \"bridge\"\n\
                 subnet = \"{s}.0/24\"\nrangeStart = \"{s}.10\"\nrangeEnd = \"{s}.250\"\n\
                 hostInterface = \"mv{i}\"\nhostAddresses = {{ bench = \"{s}.1\" }}\n"
            );
            items.push(Item::Link(format!("mv{i}")));
            items.push(Item::Addr(format!("mv{i}"), format!("{s}.1/24")));
        }
        Case::new(format!("{n} shims"), &profile, "bench", items)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    N3xnetd,
    Networkd,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::N3xnetd => "n3xnetd",
            Tool::Networkd => "systemd-networkd",
        }
    }
}

/// A child process killed and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ip -ts monitor link address route` in `ns`, its lines sent on the
/// channel; returns once it is proven listening (it has shown a sentinel
/// address added to `lo` after its start).
fn monitor(ns: &Netns) -> (Proc, Receiver<String>) {
    let mut child = Command::new("ip")
        .args(["-n", &ns.name, "-ts", "monitor", "link", "address", "route"])
        .env("TZ", "UTC")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Proc(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Deleted and added again each try: only a change makes an event.
    let listening = wait_until(SETTLE, || {
        let _ = ns.try_ip("addr del 127.0.0.2/8 dev lo");
        ns.ip("addr add 127.0.0.2/8 dev lo");
        let until = Instant::now() + Duration::from_millis(50);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("127.0.0.2/8") => return true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        false
    });
    assert!(listening.is_some(), "ip monitor never saw the sentinel");
    while rx.try_recv().is_ok() {}
    (child, rx)
}

/// `[2026-11-26T01:26:11.385118] rest` → (seconds since UTC midnight, rest).
fn stamped(line: &str) -> Option<(f64, &str)> {
    let rest = line.strip_prefix('[')?;
    let (ts, rest) = rest.split_once("] ")?;
    let hms: Vec<f64> = ts
        .split_once('T')?
        .1
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    Some((hms[0] * 3600.0 + hms[1] * 60.0 + hms[2], rest))
}

/// Seconds since UTC midnight of a wall-clock instant.
fn of_day(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() % 86400.0
}

/// Reads the monitor until every item has appeared; the time of the last
/// first appearance, relative to `t0`. Panics if any is deleted meanwhile
/// (a first appearance would then not be the configured state's).
fn configured(rx: &Receiver<String>, items: &[Item], t0: SystemTime) -> Duration {
    let mut pending: Vec<&Item> = items.iter().collect();
    let mut last = 0.0f64;
    let deadline = Instant::now() + SETTLE;
    let mut seen = Vec::new();
    while !pending.is_empty() {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| {
                panic!(
                    "not configured: {pending:?} missing; monitor:\n{}",
                    seen.join("\n")
                )
            });
        let Ok(line) = rx.recv_timeout(left) else {
            continue;
        };
        if let Some((ts, rest)) = stamped(&line) {
            let deleted = rest.starts_with("Deleted ");
            let body = rest.trim_start_matches("Deleted ");
            assert!(
                !(deleted && items.iter().any(|i| i.matches(body))),
                "a desired object was deleted: {line}"
            );
            if !deleted {
                let before = pending.len();
                pending.retain(|i| !i.matches(body));
                if pending.len() < before {
                    last = last.max(ts);
                }
            }
        }
        seen.push(line);
    }
    let mut since = last - of_day(t0);
    if since < -43200.0 {
        since += 86400.0; // midnight passed
    }
    Duration::from_secs_f64(since.max(0.0))
}

/// Until `managed` links' state files say `ADMIN_STATE=configured`: the
/// time since `t0` (polled: the test may poll).
fn networkd_says_configured(links: PathBuf, managed: usize, t0: Instant) -> Option<Duration> {
    wait_until(SETTLE, || {
        fs::read_dir(&links).is_ok_and(|d| {
            d.filter_map(|e| fs::read_to_string(e.ok()?.path()).ok())
                .filter(|s| s.lines().any(|l| l == "ADMIN_STATE=configured"))
                .count()
                >= managed
        })
    })?;
    Some(t0.elapsed())
}

/// The wrapper's command line in `ns` for `daemon`.
fn wrapped(ns: &Netns, case: &Case, run: &Path, daemon: &[&std::ffi::OsStr]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name])
        .args(["unshare", "--mount", "--propagation", "private"])
        .args(["sh", "-c", WRAPPER, "sh"])
        .arg(case.dir.path().join("network"))
        .arg(run)
        .args(daemon)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}

/// One run's times from spawn.
struct Run {
    ready: Duration,
    configured: Duration,
    /// networkd's own state files say every managed link is configured.
    own: Option<Duration>,
    /// VmRSS after [`IDLE`] of idling once configured, KiB.
    rss_kib: u64,
}

/// How long each daemon idles, configured, before its RSS is read.
const IDLE: Duration = Duration::from_secs(2);

/// `VmRSS` of `pid`, KiB.
fn rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn run(tool: Tool, case: &Case) -> Run {
    let (ns, sw) = (Netns::new(), Netns::new());
    ns.nic("eth1", &sw, "sw-eth1");
    ns.ip("link set eth1 up");
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let run_dir = dir.path().join("run");
    fs::create_dir(&run_dir).unwrap();
    fs::set_permissions(&run_dir, fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&socket).unwrap();
    // networkd notifies after dropping to systemd-network.
    fs::set_permissions(&socket, fs::Permissions::from_mode(0o777)).unwrap();
    let log = dir.path().join("daemon.log");

    let pending: Vec<Item> = case
        .items
        .iter()
        .filter(|i| !i.present(&ns))
        .cloned()
        .collect();
    let (_monitor, rx) = monitor(&ns);

    let config = case.dir.path().join("n3xnet.toml");
    let mut cmd = match tool {
        Tool::N3xnetd => {
            let bin = std::ffi::OsStr::new(env!("CARGO_BIN_EXE_n3xnetd"));
            let mut c = wrapped(
                &ns,
                case,
                &run_dir,
                &[bin, "--config".as_ref(), config.as_os_str()],
            );
            c.arg("--runtime-dir")
                .arg(dir.path())
                .env("RUST_LOG", "info");
            c
        }
        Tool::Networkd => {
            let mut c = wrapped(&ns, case, &run_dir, &[NETWORKD.as_ref()]);
            // Not the journal, not /dev/kmsg (the host's kernel log).
            c.env("SYSTEMD_LOG_TARGET", "console");
            c
        }
    };
    cmd.env("NOTIFY_SOCKET", &socket)
        .env_remove("WATCHDOG_USEC")
        .env_remove("JOURNAL_STREAM")
        .stderr(fs::File::create(&log).unwrap());

    let (wall0, t0) = (SystemTime::now(), Instant::now());
    let daemon = Proc(cmd.spawn().unwrap());
    let own = (tool == Tool::Networkd).then(|| {
        let (links, managed) = (run_dir.join("netif/links"), case.managed);
        std::thread::spawn(move || networkd_says_configured(links, managed, t0))
    });
    let logged = || fs::read_to_string(&log).unwrap_or_default();

    let mut buf = [0u8; 4096];
    notify.set_read_timeout(Some(SETTLE)).unwrap();
    let ready = loop {
        let n = notify
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{}: no READY=1 ({e}); log:\n{}", tool.name(), logged()));
        if String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "READY=1")
        {
            break t0.elapsed();
        }
    };
    let configured = configured(&rx, &pending, wall0);
    let own = own.and_then(|h| h.join().unwrap());
    for item in &case.items {
        assert!(
            item.present(&ns),
            "{}: {item:?} missing at the end",
            tool.name()
        );
    }
    // The wrapper execs the daemon: the child's pid is the daemon's.
    std::thread::sleep(IDLE);
    let rss_kib = rss_kib(daemon.0.id());
    drop(daemon);
    Run {
        ready,
        configured,
        own,
        rss_kib,
    }
}

/// Spawn to exit of the wrapper running `true`: the part of both tools'
/// times that is neither daemon's.
fn wrapper_cost(case: &Case) -> Duration {
    let ns = Netns::new();
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let status = wrapped(&ns, case, dir.path(), &["true".as_ref()])
        .status()
        .unwrap();
    assert!(status.success());
    t0.elapsed()
}

fn pct(v: &[Duration], p: usize) -> f64 {
    let mut v = v.to_vec();
    v.sort();
    ms(v[(v.len() - 1) * p / 100])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn n3xnetd_against_networkd() {
    if !netns_tier() {
        return;
    }
    assert!(
        Path::new(NETWORKD).exists(),
        "{NETWORKD}: install the systemd package"
    );
    let rounds = env_list("N3XNET_BENCH_ROUNDS", "7")[0];
    let cases: Vec<Case> = std::iter::once(Case::demo())
        .chain(
            env_list("N3XNET_BENCH_N", "10,100")
                .into_iter()
                .map(Case::shims),
        )
        .collect();
    let wrapper: Vec<Duration> = (0..rounds).map(|_| wrapper_cost(&cases[0])).collect();

    println!(
        "\nspawn → READY=1 and → configured (every desired link up, address, route in the kernel), \
         {rounds} runs each, ms ({} build); VmRSS after {IDLE:?} idle, configured\n\
         | profile | daemon | READY median | READY p95 | configured median | configured p95 | \
         networkd's own `configured` median | idle VmRSS median KiB |\n|---|---|---:|---:|---:|---:|---:|---:|",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let mut ratios = Vec::new();
    for case in &cases {
        let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
        // Alternating, so both meet the same load.
        for _ in 0..rounds {
            runs[0].push(run(Tool::N3xnetd, case));
            runs[1].push(run(Tool::Networkd, case));
        }
        let mut medians = Vec::new();
        for (tool, runs) in [Tool::N3xnetd, Tool::Networkd].into_iter().zip(&runs) {
            let ready: Vec<Duration> = runs.iter().map(|r| r.ready).collect();
            let conf: Vec<Duration> = runs.iter().map(|r| r.configured).collect();
            let own: Vec<Duration> = runs.iter().filter_map(|r| r.own).collect();
            let own = if own.len() == runs.len() {
                format!("{:.1}", pct(&own, 50))
            } else if tool == Tool::Networkd {
                format!("{}/{} runs", own.len(), runs.len())
            } else {
                "–".into()
            };
            let mut rss: Vec<u64> = runs.iter().map(|r| r.rss_kib).collect();
            rss.sort_unstable();
            println!(
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {own} | {} |",
                case.name,
                tool.name(),
                pct(&ready, 50),
                pct(&ready, 95),
                pct(&conf, 50),
                pct(&conf, 95),
                rss[rss.len() / 2],
            );
            medians.push((pct(&ready, 50), pct(&conf, 50)));
        }
        ratios.push((&case.name, medians[0], medians[1]));
    }
    let w = pct(&wrapper, 50);
    println!(
        "\nnetworkd / n3xnetd, medians; \"− wrapper\": both minus the wrapper's median\n\
         | profile | READY | configured | configured − wrapper |\n|---|---:|---:|---:|"
    );
    for (name, n3x, nd) in ratios {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} |",
            nd.0 / n3x.0,
            nd.1 / n3x.1,
            (nd.1 - w) / (n3x.1 - w)
        );
    }
    println!(
        "\nwrapper (ip netns exec, unshare, sh, 4 mounts, exec true), in both: median {:.1} ms, \
         p95 {:.1} ms",
        pct(&wrapper, 50),
        pct(&wrapper, 95)
    );
}
