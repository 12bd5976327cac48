//! Confirmed changes (issue 17): `n3xnetctl reload --confirm-within`
//! through the real n3xnetd on a private system bus, with the journal in
//! the node's directory (`STATE_DIRECTORY`). The kernel is the witness
//! (`ip -d -j` dumps of the node before and after); `status.json` and the
//! exit codes are the interface under test. Windows are short (2 s) or
//! long (60 s, ended by the test), so the file takes seconds.

mod daemon_util;
mod dbus_util;
mod netns_util;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use daemon_util::{
    change_watcher, changed_from, fault_bin, plug_peers, two_servers, wait_until, Daemon, Node,
    PROFILE, SETTLE,
};
use dbus_util::Bus;
use netns_util::netns_tier;
use serde_json::Value;

/// [`changed_from`] the demo profile.
fn changed() -> String {
    changed_from(PROFILE)
}

/// A node with its daemon on a private bus, ready and settled.
struct Setup {
    node: Node,
    bus: Bus,
    daemon: Daemon,
}

impl Setup {
    fn new() -> Setup {
        Setup::on(Node::new(""))
    }

    fn on(node: Node) -> Setup {
        let bus = Bus::start();
        let daemon = start(&node, &bus);
        Setup { node, bus, daemon }
    }

    fn ctl(&self, args: &[&str]) -> Output {
        self.bus.ctl(args)
    }

    fn journal(&self) -> PathBuf {
        self.node.path("change.json")
    }

    /// The node's addresses are the changed profile's.
    fn changed(&self) -> bool {
        self.node.has_address("eth1", "192.168.1.9/24")
            && self.node.has_address("mv-pods", "192.168.30.9/24")
    }
}

fn start(node: &Node, bus: &Bus) -> Daemon {
    let mut d = start_program(node, bus, env!("CARGO_BIN_EXE_n3xnetd"), &[]);
    d.wait_ready();
    bus.wait_daemon(&d);
    node.settle();
    d
}

/// `program` as the node's n3xnetd on `bus`, its state in the node's
/// directory, with `env` too.
fn start_program(node: &Node, bus: &Bus, program: &str, env: &[(&str, &str)]) -> Daemon {
    let dir = node.dir.path().to_str().unwrap().to_owned();
    let mut all = bus.env().to_vec();
    all.push(("STATE_DIRECTORY", &dir));
    all.extend_from_slice(env);
    Daemon::start_program(node, program, &all)
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn change_state(status: &Value) -> Option<&str> {
    status["change"]["state"].as_str()
}

/// Asks for a change kept only if confirmed within `within`.
fn reload_confirmed(s: &Setup, within: &str) {
    s.node.set_profile(&changed());
    let out = s.ctl(&["reload", "--confirm-within", within]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(s.changed(), "the change was not applied");
    let status = s.daemon.status();
    assert_eq!(change_state(&status), Some("pending"), "{status:#}");
    assert!(s.journal().exists(), "no journal of the pending change");
}

#[test]
fn a_change_confirmed_in_time_is_kept() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    reload_confirmed(&s, "2s");
    // The window is open: a second change is refused, saying why.
    let out = s.ctl(&["reload"]);
    assert_eq!(code(&out), 80, "{}", text(&out));
    assert!(text(&out).contains("n3xnetctl confirm"), "{}", text(&out));
    let out = s.ctl(&["reload", "--confirm-within", "2s"]);
    assert_eq!(code(&out), 80, "{}", text(&out));
    // D-Bus shows it.
    let change = s.bus.property("ChangeJson").unwrap();
    assert!(change.as_str().unwrap().contains("\"pending\""), "{change}");

    let out = s.ctl(&["confirm"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    s.daemon.wait_status(|st| st["change"].is_null());
    assert!(!s.journal().exists(), "the journal outlived the confirm");
    // Past the deadline the change is still there.
    let deadline = std::time::Instant::now() + Duration::from_millis(2500);
    wait_until(SETTLE, || std::time::Instant::now() > deadline);
    assert!(s.changed(), "a confirmed change was reverted");
    let out = s.ctl(&["confirm"]);
    assert_eq!(code(&out), 81, "{}", text(&out));
}

#[test]
fn an_unconfirmed_change_reverts_exactly_at_its_deadline() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    let before = s.node.ns.settled();
    reload_confirmed(&s, "2s");
    let status = s
        .daemon
        .wait_status(|st| change_state(st) == Some("reverted"));
    assert_eq!(status["change"]["reason"], "deadline", "{status:#}");
    assert_eq!(s.node.ns.settled(), before, "the revert is not exact");
    assert!(
        status["status"]
            .as_str()
            .unwrap()
            .contains("change reverted (deadline)"),
        "{status:#}"
    );
    // Too late to confirm; the file still holds the change, so a plain
    // reload keeps the previous profile and says so.
    let out = s.ctl(&["confirm"]);
    assert_eq!(code(&out), 81, "{}", text(&out));
    let out = s.ctl(&["reload"]);
    assert_eq!(code(&out), 80, "{}", text(&out));
    assert!(
        text(&out).contains("still holds the change"),
        "{}",
        text(&out)
    );
    assert_eq!(s.node.ns.snapshot(), before);
    // A changed file is an ordinary reload again.
    s.node.set_profile(PROFILE);
    let out = s.ctl(&["reload"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    s.daemon.wait_status(|st| st["change"].is_null());
    assert!(!s.journal().exists());
}

#[test]
fn rollback_reverts_at_once() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    let before = s.node.ns.settled();
    // n3xnetctl's own confirmed change is refused on the daemon's node:
    // the daemon's `reload --confirm-within` is the way.
    s.node.set_profile(&changed());
    let dir = s.node.dir.path().to_str().unwrap();
    let profile = s.node.path("profile.toml");
    let out = s.ctl(&[
        "apply",
        "-p",
        profile.to_str().unwrap(),
        "-n",
        "server-1",
        "--netns",
        &s.node.ns.name,
        "--runtime-dir",
        dir,
        "--state-dir",
        dir,
        "--confirm-within",
        "60s",
    ]);
    assert_eq!(code(&out), 79, "{}", text(&out));
    assert!(
        text(&out).contains("reload --confirm-within"),
        "{}",
        text(&out)
    );
    assert_eq!(s.node.ns.snapshot(), before, "a refused apply wrote");
    reload_confirmed(&s, "60s");
    let out = s.ctl(&["rollback"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Reverted when the answer came.
    assert_eq!(s.node.ns.settled(), before, "the rollback is not exact");
    let status = s.daemon.status();
    assert_eq!(change_state(&status), Some("reverted"), "{status:#}");
    assert_eq!(status["change"]["reason"], "rollback");
    let out = s.ctl(&["status", "--netns", &s.node.ns.name]);
    assert!(
        text(&out).contains("change   reverted (rollback)"),
        "{}",
        text(&out)
    );
    let out = s.ctl(&["rollback"]);
    assert_eq!(code(&out), 81, "{}", text(&out));
}

#[test]
fn a_daemon_killed_inside_the_window_reverts_when_it_starts_again() {
    if !netns_tier() {
        return;
    }
    let mut s = Setup::new();
    let before = s.node.ns.settled();
    reload_confirmed(&s, "60s");
    s.daemon.signal("KILL");
    assert!(s.daemon.wait_exit().is_some(), "n3xnetd survived SIGKILL");
    let journal: Value =
        serde_json::from_str(&std::fs::read_to_string(s.journal()).unwrap()).unwrap();
    assert_eq!(journal["change"]["state"], "pending");
    assert!(s.changed(), "the kill changed the network");

    s.daemon = start(&s.node, &s.bus);
    assert_eq!(s.node.ns.settled(), before, "the restart did not revert");
    let status = s
        .daemon
        .wait_status(|st| change_state(st) == Some("reverted"));
    assert_eq!(status["change"]["reason"], "restart", "{status:#}");
    let ready = s
        .daemon
        .messages
        .iter()
        .find(|m| m.contains("READY=1"))
        .cloned()
        .unwrap();
    assert!(ready.contains("change reverted (restart)"), "{ready}");
    // The next start (the file still holds the change) keeps the previous
    // profile.
    s.daemon.signal("TERM");
    s.daemon.wait_exit();
    s.daemon = start(&s.node, &s.bus);
    assert_eq!(s.node.ns.settled(), before);
    assert_eq!(change_state(&s.daemon.status()), Some("reverted"));
}

/// A revert is an ordinary transactional apply, so a crash in the middle of
/// one is finished by the next start: n3xnetd (fault-injection build)
/// started with the pending change aborts after the revert's first write;
/// the next n3xnetd reverts exactly.
#[test]
fn a_revert_cut_short_by_a_crash_is_finished_by_the_next_start() {
    if !netns_tier() {
        return;
    }
    let mut s = Setup::new();
    let before = s.node.ns.settled();
    reload_confirmed(&s, "60s");
    s.daemon.signal("KILL");
    s.daemon.wait_exit();

    let faulty = fault_bin("n3xnetd");
    let mut d = start_program(
        &s.node,
        &s.bus,
        faulty.to_str().unwrap(),
        &[("N3XNET_ABORT_AFTER_WRITE", "1")],
    );
    let status = d.wait_exit();
    assert_eq!(
        status.and_then(|st| std::os::unix::process::ExitStatusExt::signal(&st)),
        Some(libc::SIGABRT),
        "n3xnetd did not abort in the revert: {status:?}\n{}",
        d.log()
    );
    assert!(d
        .log()
        .contains("reverting it to the previous profile first"));
    assert_ne!(
        s.node.ns.snapshot(),
        before,
        "no revert write before the abort"
    );
    assert!(!s.changed(), "the revert wrote nothing before the abort");

    s.daemon = start(&s.node, &s.bus);
    assert_eq!(s.node.ns.settled(), before, "the revert was not finished");
    let status = s.daemon.status();
    assert_eq!(change_state(&status), Some("reverted"), "{status:#}");
    assert_eq!(status["change"]["reason"], "restart");
}

/// The journal decides the profile n3xnetd starts with, so one that
/// someone other than root could have written is not obeyed: the daemon
/// runs the profile file, says why in `STATUS=`, and takes no confirmed
/// change until the journal is dealt with.
#[test]
fn a_journal_others_could_write_is_not_obeyed() {
    use std::os::unix::fs::PermissionsExt as _;
    if !netns_tier() {
        return;
    }
    let node = Node::new("");
    let journal = node.path("change.json");
    let planted = serde_json::json!({
        "version": 1,
        "previousProfile": changed(),
        "change": {
            "state": "pending", "until": {"kind": "confirmed"},
            "startedAtMs": 1, "deadlineMs": 2,
            "changeDigest": "x", "previousDigest": "y"
        }
    });
    std::fs::write(&journal, planted.to_string()).unwrap();
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o666)).unwrap();
    let s = Setup::on(node);
    assert!(
        s.node.in_sync(),
        "the planted journal's profile was applied"
    );
    assert!(!s.changed());
    let status = s.daemon.status();
    let line = status["status"].as_str().unwrap();
    assert!(line.contains("is writable by everyone"), "{status:#}");
    s.node.set_profile(&changed());
    let out = s.ctl(&["reload", "--confirm-within", "2s"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        s.node.in_sync(),
        "a change was made beside an untrusted journal"
    );
}

/// server-1 of [`two_servers`] with its peers on the switch.
fn with_peers() -> (Setup, std::net::TcpListener) {
    let node = Node::with_profile(&two_servers(), "server-1", "");
    let api = plug_peers(&node);
    (Setup::on(node), api)
}

#[test]
fn a_change_the_network_answers_is_kept() {
    if !netns_tier() {
        return;
    }
    let (s, _api) = with_peers();
    // The API server moves with server-1's address.
    s.node.set_profile(
        &changed_from(&two_servers()).replace("https://192.168.1.1:", "https://192.168.1.9:"),
    );
    let out = s.ctl(&[
        "reload",
        "--confirm-within",
        "3s",
        "--confirm-when",
        "reachable",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Kept by the checks alone, before the deadline.
    s.daemon.wait_status(|st| st["change"].is_null());
    assert!(!s.journal().exists(), "the journal outlived the change");
    let log = s.daemon.log();
    assert!(
        log.contains("192.168.1.2:6443 arp:192.168.1.254@eth1"),
        "the targets are not the peer server and the gateway:\n{log}"
    );
    let deadline = std::time::Instant::now() + Duration::from_millis(3500);
    wait_until(SETTLE, || std::time::Instant::now() > deadline);
    assert!(s.changed(), "a reachable change was reverted");
}

#[test]
fn an_unreachable_change_reverts() {
    if !netns_tier() {
        return;
    }
    let (s, _api) = with_peers();
    let before = s.node.ns.settled();
    // The change moves the API to a port nothing listens on.
    s.node.set_profile(
        &changed_from(&two_servers())
            .replace("https://192.168.1.1:6443", "https://192.168.1.9:7443"),
    );
    let out = s.ctl(&[
        "reload",
        "--confirm-within",
        "2s",
        "--confirm-when",
        "reachable",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(s.changed());
    let status = s
        .daemon
        .wait_status(|st| change_state(st) == Some("reverted"));
    assert_eq!(status["change"]["reason"], "unreachable", "{status:#}");
    let check = status["change"]["lastCheck"].as_str().unwrap_or_default();
    assert!(check.starts_with("192.168.1.2:7443: "), "{status:#}");
    assert_eq!(s.node.ns.settled(), before, "the revert is not exact");
}

/// `n3xnetctl apply --confirm-within` made while n3xnetd was not running,
/// still pending when it starts (its watcher killed, as a crash would):
/// the daemon reverts it from the journal's undo log before its own start
/// apply, which then finds the kernel in sync (it would have had to
/// change it back otherwise), and forgets the journal.
#[test]
fn n3xnetctls_pending_change_is_reverted_first_by_a_starting_daemon() {
    if !netns_tier() {
        return;
    }
    let node = Node::new("");
    let dir = node.dir.path().to_str().unwrap().to_owned();
    let ctl = |profile: &str, extra: &[&str]| {
        std::fs::write(node.path("ctl.toml"), profile).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_n3xnetctl"))
            .args(["apply", "-p", node.path("ctl.toml").to_str().unwrap()])
            .args(["-n", "server-1", "--netns", &node.ns.name])
            .args(["--runtime-dir", &dir, "--state-dir", &dir])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out));
    };
    ctl(PROFILE, &[]);
    node.settle();
    let before = node.ns.settled();
    ctl(&changed(), &["--confirm-within", "60s"]);
    assert!(node.has_address("eth1", "192.168.1.9/24"));
    let watcher = change_watcher(&dir).expect("no watcher");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(watcher as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();

    let s = Setup::on(node);
    assert_eq!(s.node.ns.settled(), before, "the start did not revert");
    assert!(!s.journal().exists(), "the journal outlived the revert");
    assert!(
        s.daemon.log().contains("reverting it first"),
        "{}",
        s.daemon.log()
    );
    let status = s.daemon.status();
    let ops = status["lastApply"]["ops"].as_array().cloned();
    assert_eq!(
        ops,
        Some(vec![]),
        "the start apply did the revert: {status:#}"
    );
}
