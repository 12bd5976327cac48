//! The real `n3xnetd` in a throwaway namespace: a node (veth `eth1` cabled
//! to a switch namespace, the demo profile, a configuration), the daemon
//! process (or `n3xnet-report` beside it) with a notification socket the
//! test binds (systemd's real protocol), its status file and log, and
//! polling helpers (tests may poll; the daemon may not).
#![allow(dead_code)] // each test crate uses a different part of it

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::netns_util::Netns;

/// The demo profile: node server-1 with `eth1` (192.168.1.1/24, default
/// route via 192.168.1.254) and the macvlan shim `mv-pods` (192.168.30.1/24).
pub const PROFILE: &str = include_str!("../../profiles/demo.toml");
/// How long anything may take to settle before a test gives up.
pub const SETTLE: Duration = Duration::from_secs(10);

/// The demo profile with server-1 moved to other addresses: what a change
/// that cuts the node off (a wrong address) looks like on this kernel.
pub fn changed_from(profile: &str) -> String {
    profile
        .replace(
            "server-1 = { cluster = \"192.168.1.1\" }",
            "server-1 = { cluster = \"192.168.1.9\" }",
        )
        .replace("server-1 = \"192.168.30.1\"", "server-1 = \"192.168.30.9\"")
}

/// The demo profile with a second server, 192.168.1.2: server-1 is the
/// API server, so `--confirm-when reachable` checks its peer at
/// `serverApi`'s port, and the gateway's ARP.
pub fn two_servers() -> String {
    PROFILE
        .replace(
            "agent-1 = { cluster = \"192.168.1.3\" }",
            "agent-1 = { cluster = \"192.168.1.3\" }\nserver-2 = { cluster = \"192.168.1.2\" }",
        )
        .replace(
            "[nodes.agent-1]",
            "[nodes.server-2]\nrole = \"server\"\n\n[nodes.agent-1]",
        )
}

/// server-1's peers on the node's switch, for `--confirm-when reachable`
/// on [`two_servers`]: server-2's API (the listener returned, on
/// 192.168.1.2:6443) and the gateway 192.168.1.254.
pub fn plug_peers(node: &Node) -> std::net::TcpListener {
    node.sw.ip("addr add 192.168.1.2/24 dev sw-eth1");
    node.sw.ip("addr add 192.168.1.254/24 dev sw-eth1");
    node.sw.ip("link set sw-eth1 up");
    node.sw
        .enter(|| std::net::TcpListener::bind("192.168.1.2:6443"))
        .unwrap()
}

/// A node namespace with `eth1` cabled to a switch namespace, and a
/// directory with the daemon's configuration, profile, status and log.
pub struct Node {
    pub ns: Netns,
    pub sw: Netns,
    pub dir: tempfile::TempDir,
}

impl Node {
    pub fn new(config_extra: &str) -> Node {
        let node = Node::without_nic(config_extra);
        node.plug_nic();
        node
    }

    /// The node before its NIC `eth1` exists (a driver still loading).
    pub fn without_nic(config_extra: &str) -> Node {
        Node::unplugged(PROFILE, "server-1", config_extra)
    }

    /// A node of another profile, `name` being the node in it.
    pub fn with_profile(profile: &str, name: &str, config_extra: &str) -> Node {
        let node = Node::unplugged(profile, name, config_extra);
        node.plug_nic();
        node
    }

    fn unplugged(profile: &str, name: &str, config_extra: &str) -> Node {
        let ns = Netns::new();
        let sw = Netns::new();
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("profile.toml"), profile).unwrap();
        fs::write(
            dir.path().join("n3xnet.toml"),
            format!("profile = \"profile.toml\"\nnode = \"{name}\"\n{config_extra}"),
        )
        .unwrap();
        Node { ns, sw, dir }
    }

    /// `eth1` appears, cabled to the switch, and is set up.
    pub fn plug_nic(&self) {
        self.ns.nic("eth1", &self.sw, "sw-eth1");
        self.ns.ip("link set eth1 up");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn set_profile(&self, text: &str) {
        fs::write(self.path("profile.toml.new"), text).unwrap();
        fs::rename(self.path("profile.toml.new"), self.path("profile.toml")).unwrap();
    }

    /// `ip -d -j link`, `ip -j addr`, `ip -j route` of the node.
    pub fn snapshot(&self) -> [String; 3] {
        self.ns.snapshot()
    }

    pub fn has_address(&self, link: &str, address: &str) -> bool {
        self.ns
            .try_ip(&format!("-j link show dev {link}"))
            .status
            .success()
            && self.ns.ipv4(link).iter().any(|a| a == address)
    }

    pub fn shim_mode(&self) -> Option<String> {
        if !self.ns.try_ip("link show dev mv-pods").status.success() {
            return None;
        }
        self.ns.link("mv-pods")["linkinfo"]["info_data"]["mode"]
            .as_str()
            .map(str::to_owned)
    }

    /// Waits until the kernel has finished bringing `eth1` and the shim up
    /// (operstate lags the carrier by up to a second), so snapshots compare
    /// configuration, not a transition.
    pub fn settle(&self) {
        let up = |name: &str| {
            self.ns
                .try_ip(&format!("-j link show dev {name}"))
                .status
                .success()
                && self.ns.link(name)["operstate"] == "UP"
        };
        assert!(
            wait_until(SETTLE, || up("eth1") && up("mv-pods")).is_some(),
            "links never settled"
        );
    }

    pub fn in_sync(&self) -> bool {
        self.has_address("eth1", "192.168.1.1/24") && self.has_address("mv-pods", "192.168.30.1/24")
    }
}

/// A running `n3xnetd` (or `n3xnet-report`); killed on drop if still running.
pub struct Daemon {
    pub child: Child,
    notify: UnixDatagram,
    /// Every notification received so far, in order.
    pub messages: Vec<String>,
    pub log: PathBuf,
    pub status: PathBuf,
}

impl Daemon {
    pub fn start(node: &Node) -> Daemon {
        Self::start_with(node, &[])
    }

    pub fn start_with(node: &Node, env: &[(&str, &str)]) -> Daemon {
        Self::start_program(node, env!("CARGO_BIN_EXE_n3xnetd"), env)
    }

    /// `program` as n3xnetd (the fault-injection build, say).
    pub fn start_program(node: &Node, program: &str, env: &[(&str, &str)]) -> Daemon {
        let dir = node.dir.path().to_str().unwrap();
        let args = ["--netns", &node.ns.name, "--runtime-dir", dir];
        Self::spawn(node, program, &args, "", env)
    }

    /// The real `n3xnet-report` beside the node's daemon: it follows the
    /// daemon's status file in the node's directory and keeps its own
    /// (`report.json`), log and notification socket there.
    pub fn report(node: &Node) -> Daemon {
        let dir = node.dir.path().to_str().unwrap();
        let args = ["--status-dir", dir, "--runtime-dir", dir];
        Self::spawn(
            node,
            env!("CARGO_BIN_EXE_n3xnet-report"),
            &args,
            "report-",
            &[],
        )
    }

    /// `program` with the node's configuration and `args`; its socket, log
    /// and status file named with `prefix` in the node's directory.
    fn spawn(
        node: &Node,
        program: &str,
        args: &[&str],
        prefix: &str,
        env: &[(&str, &str)],
    ) -> Daemon {
        let socket = node.path(&format!("{prefix}notify.sock"));
        let _ = fs::remove_file(&socket);
        let notify = UnixDatagram::bind(&socket).unwrap();
        let name = Path::new(program).file_name().unwrap().to_str().unwrap();
        let log = node.path(&format!("{name}.log"));
        // Appends, so a restarted daemon's log follows the first one's.
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new("sh");
        // WATCHDOG_PID must be the daemon's own pid, as systemd sets it. No
        // core dump of a daemon that aborts (by fault injection).
        cmd.args(["-c", "ulimit -c 0; WATCHDOG_PID=$$ exec \"$@\"", "sh"])
            .arg(program)
            .arg("--config")
            .arg(node.path("n3xnet.toml"))
            .args(args)
            .env("NOTIFY_SOCKET", &socket)
            .env("RUST_LOG", "info")
            .env_remove("JOURNAL_STREAM")
            .env_remove("WATCHDOG_USEC")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let status = if prefix.is_empty() {
            "status.json"
        } else {
            "report.json"
        };
        Daemon {
            child: cmd.spawn().unwrap(),
            notify,
            messages: Vec::new(),
            log,
            status: node.path(status),
        }
    }

    /// Receives notifications until one satisfies `pred` (returned), or
    /// `timeout` passes.
    pub fn wait_notify(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.notify
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.notify.recv(&mut buf) {
                Ok(n) => {
                    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                    self.messages.push(msg.clone());
                    if pred(&msg) {
                        return Some(msg);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return None;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("notify socket: {e}"),
            }
        }
    }

    pub fn wait_ready(&mut self) -> String {
        let log = self.log.clone();
        self.wait_notify(SETTLE, |m| m.lines().any(|l| l == "READY=1"))
            .unwrap_or_else(|| panic!("no READY=1; log:\n{}", fs::read_to_string(log).unwrap()))
    }

    pub fn status(&self) -> Value {
        serde_json::from_str(&fs::read_to_string(&self.status).unwrap()).unwrap()
    }

    /// The status file once `pred` holds for it.
    pub fn wait_status(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        let ok = wait_until(SETTLE, || {
            last = fs::read_to_string(&self.status)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null);
            pred(&last)
        });
        assert!(
            ok.is_some(),
            "status never matched; last: {last:#}\nlog:\n{}",
            self.log()
        );
        last
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit()
            .unwrap_or_else(|| panic!("n3xnetd did not stop on SIGTERM"))
    }

    /// The exit status once the process has ended, `None` if it is still
    /// running after [`SETTLE`].
    pub fn wait_exit(&mut self) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(SETTLE, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        })?;
        status
    }

    /// Voluntary context switches of every thread: a sleeping process
    /// makes none.
    pub fn wakeups(&self) -> u64 {
        let tasks = format!("/proc/{}/task", self.child.id());
        fs::read_dir(tasks)
            .unwrap()
            .map(|t| {
                let s = fs::read_to_string(t.unwrap().path().join("status")).unwrap();
                s.lines()
                    .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                    .unwrap()
                    .trim()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The fault-injection build of a binary (`scripts/build-fault-injection`),
/// beside the normal ones. Missing, the test fails: CI must not go green
/// without it.
pub fn fault_bin(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_n3xnetd"))
        .with_file_name("fault-injection")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: run scripts/build-fault-injection first (scripts/test does)",
        bin.display()
    );
    bin
}

/// The PID of `n3xnetctl watch-change` watching the journal in `dir` (the
/// watcher of `apply --confirm-within`), found by its command line.
pub fn change_watcher(dir: &str) -> Option<u32> {
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let watching = args
            .windows(3)
            .any(|w| w[0] == b"watch-change" && w[1] == b"--state-dir" && w[2] == dir.as_bytes());
        watching.then_some(pid)
    })
}

/// Polls `cond` (the test may poll; the daemon may not) until it holds;
/// the time it took.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `ip -n NS <args>` and returns how long the repair of `repaired`
/// took, measured from just before the command.
pub fn break_and_time(node: &Node, args: &str, repaired: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    node.ns.ip(args);
    assert!(
        wait_until(SETTLE, &repaired).is_some(),
        "not repaired after `ip {args}`"
    );
    start.elapsed()
}

/// Whether a status file reports drift not yet repaired.
pub fn drift_pending(status: &Value) -> bool {
    status["drift"]["pending"]
        .as_array()
        .is_some_and(|p| !p.is_empty())
}

pub fn status_line(msg: &str) -> Option<&str> {
    msg.lines().find_map(|l| l.strip_prefix("STATUS="))
}

/// The `since_event_us` the daemon logged for its last repair.
pub fn logged_repair_us(log: &str) -> Option<u64> {
    log.lines()
        .rfind(|l| l.contains("trigger=repair") && l.contains("since_event_us="))
        .and_then(|l| l.split("since_event_us=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}
