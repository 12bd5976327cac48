//! `n3xnetctl wait-online` against hand-written status files, as n3xnetd
//! writes them (`<runtime dir>/status.json`, replaced by rename): it waits
//! for the daemon to appear, follows each change of the file (inotify: the
//! test moves on when the command reports the state it saw, never after a
//! sleep), exits 0 once the node is online, and on timeout exits 1 naming
//! the blocking network and the health model's reason.

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const CTL: &str = env!("CARGO_BIN_EXE_n3xnetctl");

/// A status.json of daemon `pid`; `online`: the cluster network's level.
fn status(pid: u32, ready: bool, cluster: Option<&str>) -> String {
    let up = cluster.is_none();
    let level = if up { "ok" } else { "down" };
    json!({
        "schemaVersion": 1, "pid": pid, "node": "server-1", "phase": if ready { "running" } else { "starting" },
        "ready": ready, "status": if ready { "online: cluster ok" } else { "applying the profile" },
        "config": "/etc/n3xnet/n3xnet.toml", "profile": "/etc/n3xnet/profile.toml",
        "driftPolicy": "enforce", "paused": false, "updatedAtMs": 1,
        "drift": {"pending": []}, "writes": 3, "repairs": 0,
        "health": {
            "node": "server-1", "level": level, "online": up,
            "summary": format!("{}: cluster {level}", if up { "online" } else { "offline" }),
            "links": [], "bonds": [],
            "networks": [
                {"name": "cluster", "kind": "cluster", "link": "bond0.200", "required": true,
                 "level": level, "reason": cluster},
                {"name": "storage", "kind": "storage", "link": "bond0.100", "required": false,
                 "level": "down", "reason": "bond0.100: missing"},
            ],
        },
    })
    .to_string()
}

/// Writes the file the way the daemon does: a temporary file, then rename.
fn publish(dir: &Path, content: &str) {
    let tmp = dir.join("status.json.tmp");
    std::fs::write(&tmp, content).expect("write status");
    std::fs::rename(&tmp, dir.join("status.json")).expect("rename status");
}

fn spawn(dir: &Path, timeout: u64) -> (Child, Lines<BufReader<ChildStderr>>) {
    let mut child = Command::new(CTL)
        .args([
            "wait-online",
            "--timeout",
            &timeout.to_string(),
            "--runtime-dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn n3xnetctl");
    let err = BufReader::new(child.stderr.take().expect("stderr")).lines();
    (child, err)
}

/// The next stderr line; it must contain `want`.
fn expect_line(lines: &mut Lines<BufReader<ChildStderr>>, want: &str) {
    let line = lines
        .next()
        .expect("wait-online ended early")
        .expect("read stderr");
    assert!(line.contains(want), "expected {want:?} in {line:?}");
}

#[test]
fn waits_for_the_daemon_and_follows_the_file_until_online() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("run").join("n3xnet");
    let t0 = Instant::now();
    let (mut child, mut err) = spawn(&dir, 60);
    expect_line(&mut err, "does not exist");

    std::fs::create_dir_all(&dir).expect("mkdir");
    expect_line(&mut err, "has not written");

    let me = std::process::id();
    publish(&dir, &status(me, false, None));
    expect_line(&mut err, "n3xnetd is starting: applying the profile");

    publish(&dir, &status(me, true, Some("bond0: eth1 down, eth2 down")));
    expect_line(
        &mut err,
        "blocked by cluster (bond0.200) down: bond0: eth1 down, eth2 down",
    );
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "exited while offline"
    );

    publish(&dir, &status(me, true, None));
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "exit status");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "online: cluster ok"
    );
    // Event-driven: far from the 60 s timeout.
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
}

#[test]
fn timeout_names_the_blocking_network_and_its_reason() {
    let tmp = tempfile::tempdir().expect("tempdir");
    publish(
        tmp.path(),
        &status(
            std::process::id(),
            true,
            Some("bond0: eth1 down, eth2 down"),
        ),
    );
    let t0 = Instant::now();
    let out = Command::new(CTL)
        .args(["wait-online", "--timeout", "1", "--runtime-dir"])
        .arg(tmp.path())
        .output()
        .expect("run n3xnetctl");
    let elapsed = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit status; stderr: {stderr}");
    assert!(
        stderr.contains(
            "not online after 1s: blocked by cluster (bond0.200) down: bond0: eth1 down, eth2 down"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("storage"),
        "storage is not required: {stderr}"
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
}

#[test]
fn a_file_left_by_a_dead_daemon_is_not_online() {
    let mut gone = Command::new("true").spawn().expect("spawn true");
    let pid = gone.id();
    gone.wait().expect("reap");
    let tmp = tempfile::tempdir().expect("tempdir");
    publish(tmp.path(), &status(pid, true, None));
    let out = Command::new(CTL)
        .args(["wait-online", "--timeout", "1", "--runtime-dir"])
        .arg(tmp.path())
        .output()
        .expect("run n3xnetctl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("n3xnetd (pid {pid}) is gone")),
        "{stderr}"
    );
}
