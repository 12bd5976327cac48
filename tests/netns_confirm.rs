//! Confirmed changes without n3xnetd (issue 17): `n3xnetctl apply
//! --confirm-within` in a throwaway node namespace, its journal and
//! watcher in the node's directory (`--state-dir`). The kernel is the
//! witness (`ip -d -j` dumps before and after); the journal, `status
//! --json` and the exit codes are the interface under test. Windows are
//! short (2 s) or long (60 s, ended by the test).

mod daemon_util;
mod netns_util;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use daemon_util::{
    change_watcher, changed_from, fault_bin, plug_peers, two_servers, wait_until, Node, PROFILE,
    SETTLE,
};
use netns_util::netns_tier;
use serde_json::Value;

/// A node applied (plainly) with its profile and settled: what a change
/// must come back to.
struct Setup {
    node: Node,
    before: [String; 3],
}

impl Setup {
    fn new() -> Setup {
        Setup::on(Node::new(""))
    }

    fn on(node: Node) -> Setup {
        let s = Setup {
            node,
            before: Default::default(),
        };
        let out = s.apply(&[]);
        assert_eq!(code(&out), 0, "{}", text(&out));
        s.node.settle();
        Setup {
            before: s.node.ns.settled(),
            ..s
        }
    }

    fn dir(&self) -> &str {
        self.node.dir.path().to_str().unwrap()
    }

    fn ctl_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_n3xnetctl"));
        cmd.args(args).args(["--state-dir", self.dir()]);
        cmd
    }

    fn ctl(&self, args: &[&str]) -> Output {
        self.ctl_cmd(args).output().unwrap()
    }

    fn apply_args(&self, extra: &[&str]) -> Vec<String> {
        let profile = self.node.path("profile.toml");
        let mut v: Vec<String> = ["apply", "-p", profile.to_str().unwrap()]
            .into_iter()
            .map(String::from)
            .collect();
        v.extend(["-n", "server-1", "--netns", &self.node.ns.name].map(String::from));
        v.extend(["--runtime-dir", self.dir()].map(String::from));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    fn apply(&self, extra: &[&str]) -> Output {
        let args = self.apply_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ctl(&args)
    }

    fn journal_path(&self) -> PathBuf {
        self.node.path("change.json")
    }

    fn journal(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.journal_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn state(&self) -> Option<String> {
        self.journal()?["change"]["state"]
            .as_str()
            .map(str::to_owned)
    }

    fn wait_state(&self, state: Option<&str>) -> Option<Value> {
        let reached = wait_until(SETTLE, || self.state().as_deref() == state);
        assert!(
            reached.is_some(),
            "the change never became {state:?}: {:?}\nwatcher log:\n{}",
            self.journal(),
            self.log()
        );
        self.journal()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.node.path("change.log")).unwrap_or_default()
    }

    /// The node's addresses are the changed profile's.
    fn changed(&self) -> bool {
        self.node.has_address("eth1", "192.168.1.9/24")
            && self.node.has_address("mv-pods", "192.168.30.9/24")
    }

    /// Applies the changed profile, kept only if confirmed within `within`.
    fn apply_confirmed(&self, within: &str) {
        self.node.set_profile(&changed_from(PROFILE));
        let out = self.apply(&["--confirm-within", within]);
        assert_eq!(code(&out), 0, "{}", text(&out));
        assert!(text(&out).contains("reverts at"), "{}", text(&out));
        assert!(self.changed(), "the change was not applied");
        assert_eq!(self.state().as_deref(), Some("pending"));
    }

    fn watcher(&self) -> Option<u32> {
        change_watcher(self.dir())
    }

    /// SIGKILLs the watcher and waits until `status` sees the orphan. Its
    /// lock goes with its last descriptor, a moment after its memory (and
    /// so its command line): waited on, as `status` sees it.
    fn kill_watcher(&self) {
        let pid = self.watcher().expect("no watcher");
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        let orphaned = || self.status()["change"]["watched"] == false;
        assert!(
            wait_until(SETTLE, orphaned).is_some(),
            "{:#}",
            self.status()
        );
    }

    fn status(&self) -> Value {
        let out = self.ctl(&[
            "status",
            "--kernel",
            "--json",
            "--netns",
            &self.node.ns.name,
        ]);
        assert_eq!(code(&out), 0, "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn reverted_exactly(&self) {
        assert_eq!(
            self.node.ns.settled(),
            self.before,
            "the revert is not exact"
        );
    }
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

#[test]
fn a_change_confirmed_in_time_is_kept_and_a_second_one_is_refused() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    s.apply_confirmed("60s");
    let status = s.status();
    assert_eq!(status["change"]["state"], "pending", "{status:#}");
    assert_eq!(status["change"]["watched"], true, "{status:#}");
    let human = text(&s.ctl(&["status", "--kernel", "--netns", &s.node.ns.name]));
    assert!(human.contains("change   PENDING: reverts at"), "{human}");

    // A second change, confirmed or not, is refused and writes nothing.
    let pending = s.node.ns.snapshot();
    s.node.set_profile(PROFILE);
    for extra in [&[][..], &["--confirm-within", "60s"][..]] {
        let out = s.apply(extra);
        assert_eq!(code(&out), 80, "{}", text(&out));
        assert!(text(&out).contains("n3xnetctl confirm"), "{}", text(&out));
        assert_eq!(s.node.ns.snapshot(), pending, "a refused apply wrote");
    }

    let out = s.ctl(&["confirm"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(s.journal().is_none(), "the journal outlived the confirm");
    // The watcher ends with the journal: nothing is left to revert it.
    assert!(
        wait_until(SETTLE, || s.watcher().is_none()).is_some(),
        "the watcher outlived the confirm"
    );
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
    s.apply_confirmed("2s");
    let j = s.wait_state(Some("reverted")).unwrap();
    assert_eq!(j["change"]["reason"], "deadline", "{j:#}");
    s.reverted_exactly();
    let out = s.ctl(&["confirm"]);
    assert_eq!(code(&out), 81, "{}", text(&out));
    assert!(text(&out).contains("reverted (deadline)"), "{}", text(&out));
    // The record does not block the next change.
    let out = s.apply(&[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(s.changed());
}

#[test]
fn rollback_reverts_at_once_and_stops_the_watcher() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    s.apply_confirmed("60s");
    let out = s.ctl(&["rollback"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    s.reverted_exactly();
    assert_eq!(s.state().as_deref(), Some("reverted"));
    assert_eq!(s.journal().unwrap()["change"]["reason"], "rollback");
    assert!(
        wait_until(SETTLE, || s.watcher().is_none()).is_some(),
        "the watcher outlived the rollback"
    );
    let out = s.ctl(&["rollback"]);
    assert_eq!(code(&out), 81, "{}", text(&out));
}

#[test]
fn a_killed_watcher_leaves_an_orphan_that_rollback_reverts() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    s.apply_confirmed("60s");
    s.kill_watcher();
    let status = s.status();
    assert_eq!(status["change"]["state"], "pending", "{status:#}");
    let human = text(&s.ctl(&["status", "--kernel", "--netns", &s.node.ns.name]));
    assert!(human.contains("ORPHANED"), "{human}");
    assert!(s.changed(), "the kill changed the network");

    let out = s.ctl(&["rollback"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    s.reverted_exactly();
}

/// A revert cut short (the process doing it killed after its first
/// write: the fault-injection n3xnetctl aborts there) leaves the node
/// between the change and the state before it; the next `rollback`
/// finishes what is left instead of failing on what is done.
#[test]
fn a_rollback_cut_short_is_finished_by_the_next() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    s.apply_confirmed("60s");
    s.kill_watcher();
    let changed = s.node.ns.settled();
    let out = Command::new(fault_bin("n3xnetctl"))
        .args(["rollback", "--state-dir", s.dir()])
        .env("N3XNET_ABORT_AFTER_WRITE", "1")
        .output()
        .unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(libc::SIGABRT),
        "the rollback did not abort: {}",
        text(&out)
    );
    assert!(s.journal().is_some(), "the journal went with half a revert");
    let half = s.node.ns.settled();
    assert_ne!(half, s.before, "all was reverted");
    assert_ne!(half, changed, "the first write of the revert did not land");

    let out = s.ctl(&["rollback"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    s.reverted_exactly();
    assert_eq!(s.state().as_deref(), Some("reverted"));
}

/// The operator's session goes (what a change that cuts the node off
/// does to an SSH session): apply runs in a session of its own, with no
/// terminal and its output closed, and the whole session is killed once
/// the change is applied. The watcher, in its own session, reverts.
#[test]
fn the_change_reverts_after_the_operators_session_is_gone() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    s.node.set_profile(&changed_from(PROFILE));
    let args = s.apply_args(&["--confirm-within", "2s", "--state-dir", s.dir()]);
    let session = Command::new("setsid")
        .args(["sh", "-c", "\"$0\" \"$@\"; exec sleep 600"])
        .arg(env!("CARGO_BIN_EXE_n3xnetctl"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sid = session.id();
    s.wait_state(Some("pending"));
    assert!(wait_until(SETTLE, || s.changed()).is_some(), "not applied");
    for sig in ["-HUP", "-KILL"] {
        Command::new("kill")
            .args([sig, "--", &format!("-{sid}")])
            .status()
            .unwrap();
    }
    let mut session = session;
    session.wait().unwrap();
    let j = s.wait_state(Some("reverted")).unwrap();
    assert_eq!(j["change"]["reason"], "deadline", "{j:#}");
    s.reverted_exactly();
}

/// server-1 of [`two_servers`] with its peers on the switch.
fn with_peers() -> (Setup, std::net::TcpListener) {
    let node = Node::with_profile(&two_servers(), "server-1", "");
    let api = plug_peers(&node);
    (Setup::on(node), api)
}

fn reachable_change(s: &Setup, profile: &str, within: &str) {
    s.node.set_profile(profile);
    let out = s.apply(&["--confirm-within", within, "--confirm-when", "reachable"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("192.168.1.2:"),
        "the targets are not the peer server: {}",
        text(&out)
    );
    assert!(s.changed());
}

#[test]
fn a_change_the_network_answers_is_kept() {
    if !netns_tier() {
        return;
    }
    let (s, _api) = with_peers();
    let profile =
        changed_from(&two_servers()).replace("https://192.168.1.1:", "https://192.168.1.9:");
    reachable_change(&s, &profile, "60s");
    // Kept by the checks alone, long before the deadline.
    s.wait_state(None);
    assert!(
        wait_until(SETTLE, || s.watcher().is_none()).is_some(),
        "the watcher outlived the change"
    );
    assert!(s.log().contains("every check answered"), "{}", s.log());
    assert!(s.changed(), "a reachable change was reverted");
}

#[test]
fn an_unreachable_change_reverts() {
    if !netns_tier() {
        return;
    }
    let (s, _api) = with_peers();
    // The change moves the API to a port nothing listens on.
    let profile = changed_from(&two_servers())
        .replace("https://192.168.1.1:6443", "https://192.168.1.9:7443");
    reachable_change(&s, &profile, "2s");
    let j = s.wait_state(Some("reverted")).unwrap();
    assert_eq!(j["change"]["reason"], "unreachable", "{j:#}");
    assert!(s.log().contains("192.168.1.2:7443: "), "{}", s.log());
    s.reverted_exactly();
}

/// A journal of an earlier boot is about a change the reboot undid: it is
/// dropped, saying so, and its undo log never runs on the fresh state.
#[test]
fn a_journal_of_an_earlier_boot_is_dropped_not_reverted() {
    if !netns_tier() {
        return;
    }
    let s = Setup::new();
    s.apply_confirmed("60s");
    s.kill_watcher();
    let mut j = s.journal().unwrap();
    j["undo"]["bootId"] = "00000000-0000-0000-0000-000000000000".into();
    std::fs::write(s.journal_path(), j.to_string()).unwrap();

    let out = s.ctl(&["rollback"]);
    assert_eq!(code(&out), 81, "{}", text(&out));
    assert!(
        text(&out).contains("made before the last reboot"),
        "{}",
        text(&out)
    );
    assert!(s.journal().is_none(), "the stale journal was kept");
    assert!(s.changed(), "a stale undo log was run");
    assert!(s.status().get("change").is_none());
}
