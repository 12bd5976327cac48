//! One writer per namespace: the real `n3xnetctl apply` against a held
//! writer lock (`/run/lock/n3xnet/netns-<dev>-<ino>`, the namespace's nsfs
//! inode). The test process holds the lock itself, so that the applies
//! demonstrably meet it; `/proc/locks` shows them blocked in `flock`, and
//! `ip -j` is the witness of what they did.

mod netns_util;

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use n3xnet::engine::lock;
use netns_util::{netns_tier, runtime, shim_node, shim_profile, Netns, SHIM_NODE};
use serde_json::Value;

const SHIMS: usize = 300;

/// `n3xnetctl CMD` on the profile in `dir`, inside `ns`, with an empty
/// runtime directory (no n3xnetd to ask).
fn ctl(cmd: &str, ns: &Netns, dir: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_n3xnetctl"));
    c.args([cmd, "--node", SHIM_NODE, "--netns", &ns.name, "--profile"])
        .arg(dir.join("profile.toml"))
        .args(extra);
    if cmd == "apply" {
        c.arg("--runtime-dir").arg(dir.join("run"));
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// The lock file the documented contract names for `ns`.
fn lock_file(ns: &Netns) -> PathBuf {
    let meta = std::fs::metadata(format!("/run/netns/{}", ns.name)).unwrap();
    PathBuf::from(format!(
        "/run/lock/n3xnet/netns-{}-{}",
        meta.dev(),
        meta.ino()
    ))
}

/// Processes blocked in `flock` on `file` (`->` lines of /proc/locks).
fn blocked_on(file: &Path) -> usize {
    let ino = format!(":{}", std::fs::metadata(file).unwrap().ino());
    std::fs::read_to_string("/proc/locks")
        .unwrap()
        .lines()
        .filter(|l| l.contains("->") && l.split_whitespace().any(|f| f.ends_with(&ino)))
        .count()
}

fn outcome(out: &Output) -> String {
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "apply printed no report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["outcome"].as_str().unwrap().to_owned()
}

fn shims(ns: &Netns) -> usize {
    ns.ip_json("link show")
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["ifname"].as_str().is_some_and(|n| n.starts_with("mv")))
        .count()
}

fn profile_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("profile.toml"), shim_profile(SHIMS)).unwrap();
    dir
}

/// Two applies of the same 300-shim profile waiting at the same moment:
/// without the lock both plan against one dump and the second fails on
/// EEXIST and rolls back. With it they take turns: the first applies, the
/// second plans afresh and finds the node in sync.
#[test]
fn two_applies_at_once_take_turns_and_both_succeed() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = shim_node();
    let dir = profile_dir();
    let rt = runtime();
    let held = rt
        .block_on(lock::acquire(Some(&ns.name), Some(Duration::ZERO)))
        .unwrap();
    let first = ctl("apply", &ns, dir.path(), &["--json"]).spawn().unwrap();
    let second = ctl("apply", &ns, dir.path(), &["--json"]).spawn().unwrap();
    let file = lock_file(&ns);
    let deadline = Instant::now() + Duration::from_secs(30);
    while blocked_on(&file) < 2 {
        assert!(
            Instant::now() < deadline,
            "the two applies never both waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(shims(&ns), 0, "an apply wrote while the lock was held");
    drop(held);

    let (a, b) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    for out in [&a, &b] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut outcomes = [outcome(&a), outcome(&b)];
    outcomes.sort();
    assert_eq!(outcomes, ["applied", "in-sync"]);

    let check = ctl("check", &ns, dir.path(), &[]).output().unwrap();
    assert_eq!(check.status.code(), Some(0), "check after both applies");
    assert_eq!(shims(&ns), SHIMS);
    assert_eq!(ns.ipv4("mv0"), ["10.100.0.1/24"]);
    assert_eq!(ns.ipv4("mv299"), ["10.101.43.1/24"]);
}

/// `--no-wait` while another writer holds the namespace: exit 75 naming
/// the holder, nothing changed. `plan` and `check` take no lock.
#[test]
fn no_wait_on_a_held_namespace_exits_75_naming_the_holder() {
    if !netns_tier() {
        return;
    }
    let (ns, _sw) = shim_node();
    let dir = profile_dir();
    let rt = runtime();
    let _held = rt
        .block_on(lock::acquire(Some(&ns.name), Some(Duration::ZERO)))
        .unwrap();
    let before = ns.settled();

    let out = ctl("apply", &ns, dir.path(), &["--no-wait"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    let me = std::env::current_exe().unwrap();
    let name = me.file_name().unwrap().to_string_lossy();
    assert!(
        stderr.contains(&format!(
            "n3xnetctl apply: another writer holds the namespace: PID {} ({name}",
            std::process::id()
        )),
        "{stderr}"
    );
    assert_eq!(ns.snapshot(), before);

    let plan = ctl("plan", &ns, dir.path(), &[]).output().unwrap();
    assert_eq!(plan.status.code(), Some(2), "plan is not held up");
    let check = ctl("check", &ns, dir.path(), &[]).output().unwrap();
    assert_eq!(check.status.code(), Some(1), "check is not held up");
}
