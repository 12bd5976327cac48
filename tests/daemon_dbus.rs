//! n3xnetd's D-Bus interface `io.n3x.Net1` and `n3xnetctl`'s use of it, on
//! a private `dbus-daemon` configured like the system bus (default deny of
//! method calls and name ownership) plus our policy file
//! `systemd/dbus-1/system.d/io.n3x.Net1.conf`; daemon and CLI find it
//! through `DBUS_SYSTEM_BUS_ADDRESS`. `busctl` is the independent client
//! for properties; `ip -j` the witness of the kernel; `setpriv` makes an
//! unprivileged caller (nobody).

mod daemon_util;
mod dbus_util;
mod netns_util;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use daemon_util::{drift_pending, wait_until, Daemon, Node, SETTLE};
use dbus_util::Bus;
use netns_util::netns_tier;
use serde_json::Value;

/// Subscribes (with zbus, as a client would) to the object's
/// `PropertiesChanged`; every signal arrives as its changed properties,
/// name to value. Returns once subscribed.
fn properties_changed(bus: &Bus) -> mpsc::Receiver<Vec<(String, String)>> {
    let (tx, rx) = mpsc::channel();
    let (subscribed_tx, subscribed) = mpsc::channel();
    let address = bus.address.clone();
    std::thread::spawn(move || {
        netns_util::runtime().block_on(async move {
            use futures::StreamExt as _;
            let conn = zbus::connection::Builder::address(address.as_str())
                .unwrap()
                .build()
                .await
                .unwrap();
            let props = zbus::fdo::PropertiesProxy::builder(&conn)
                .destination("io.n3x.Net1")
                .unwrap()
                .path("/io/n3x/Net1")
                .unwrap()
                .build()
                .await
                .unwrap();
            let mut signals = props.receive_properties_changed().await.unwrap();
            subscribed_tx.send(()).unwrap();
            while let Some(signal) = signals.next().await {
                let args = signal.args().unwrap();
                assert_eq!(args.interface_name().as_str(), "io.n3x.Net1");
                let changed = args
                    .changed_properties()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                if tx.send(changed).is_err() {
                    return;
                }
            }
        });
    });
    subscribed.recv_timeout(SETTLE).expect("subscribed");
    rx
}

/// The next `PropertiesChanged` that changes `name`: every property it
/// changes, name to value.
fn next_change(
    changes: &mpsc::Receiver<Vec<(String, String)>>,
    name: &str,
) -> HashMap<String, String> {
    loop {
        let changed = changes
            .recv_timeout(SETTLE)
            .unwrap_or_else(|_| panic!("no PropertiesChanged for {name}"));
        if changed.iter().any(|(k, _)| k == name) {
            return changed.into_iter().collect();
        }
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A node, a bus and a daemon on it, ready and serving.
fn setup() -> (Node, Bus, Daemon) {
    let node = Node::new("");
    let bus = Bus::start();
    let mut d = Daemon::start_with(&node, &bus.env());
    d.wait_ready();
    bus.wait_daemon(&d);
    (node, bus, d)
}

#[test]
fn properties_are_public_and_methods_root_only() {
    if !netns_tier() {
        return;
    }
    let (node, bus, d) = setup();
    d.wait_status(|s| s["ready"] == true);
    assert_eq!(bus.property("State").unwrap(), "running");
    assert_eq!(bus.property("Node").unwrap(), "server-1");
    assert_eq!(bus.property("Ready").unwrap(), true);
    assert_eq!(bus.property("Paused").unwrap(), false);
    assert_eq!(bus.property("Online").unwrap(), true);
    assert_eq!(bus.property("Overall").unwrap(), "ok");
    assert_eq!(bus.property("Pid").unwrap(), d.child.id());
    assert!(bus
        .property("Profile")
        .unwrap()
        .as_str()
        .unwrap()
        .ends_with("profile.toml"));
    let status = bus.property("Status").unwrap();
    assert!(
        status.as_str().unwrap().starts_with("online: cluster ok"),
        "{status}"
    );
    let health: Value =
        serde_json::from_str(bus.property("HealthJson").unwrap().as_str().unwrap()).unwrap();
    assert_eq!(health["node"], "server-1");
    assert_eq!(health["online"], true);
    let full: Value =
        serde_json::from_str(bus.property("StatusJson").unwrap().as_str().unwrap()).unwrap();
    assert_eq!(full["netns"], node.ns.name.as_str());
    assert_eq!(full["phase"], "running");

    // Root: Reload and Reconcile.
    let out = bus.ctl(&["reload"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = bus.ctl(&["reconcile"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    d.wait_status(|s| s["lastApply"]["trigger"] == "reconcile");
    // The journal says who asked.
    let log = d.log();
    assert!(
        log.contains("D-Bus: reload requested by uid 0 pid "),
        "{log}"
    );
    assert!(
        log.contains("D-Bus: reconcile requested by uid 0 pid "),
        "{log}"
    );

    // A bad profile: Reload answers with the problems, exit 65, the
    // running profile stays.
    node.set_profile("this is = = not toml");
    let out = bus.ctl(&["reload"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("running profile is kept"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("profile.toml"), "{}", stderr(&out));
    d.wait_status(|s| s["reloadError"].is_string());
    assert!(node.in_sync());

    // nobody reads the status from the daemon, but may not pause it.
    let out = bus.ctl_nobody(&["status", "--netns", &node.ns.name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("from n3xnetd (pid {}) over D-Bus", d.child.id())),
        "{}",
        stdout(&out)
    );
    // nobody cannot enter the namespace: the daemon's part alone, saying
    // why the kernel's is missing.
    let out = bus.ctl_nobody(&["status", "--json", "--netns", &node.ns.name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["source"], "daemon");
    assert_eq!(st["daemon"]["node"], "server-1");
    assert!(st["kernelError"].is_string(), "{st}");
    assert!(st.get("links").is_none(), "{st}");
    for method in ["pause", "resume", "reload", "reconcile"] {
        let out = bus.ctl_nobody(&[method]);
        assert_eq!(code(&out), 77, "{method}: {}{}", stdout(&out), stderr(&out));
        assert!(
            stderr(&out).contains("permission denied"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(bus.property("Paused").unwrap(), false);
    assert_eq!(d.status()["paused"], false);
    // Refused by the bus: the daemon never saw the calls.
    assert!(!d.log().contains("requested by uid 65534"), "{}", d.log());
}

#[test]
fn health_changed_follows_a_carrier_loss() {
    if !netns_tier() {
        return;
    }
    let (node, bus, d) = setup();
    let mut watch = bus
        .ctl_cmd(
            &["status", "--watch", "--json", "--netns", &node.ns.name],
            false,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel::<Value>();
    let out = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                return;
            }
        }
    });
    let first = lines
        .recv_timeout(SETTLE)
        .expect("the current health first");
    assert_eq!(first["online"], true, "{first}");

    node.sw.ip("link set sw-eth1 down");
    let mut seen = Vec::new();
    let offline = loop {
        let h = lines
            .recv_timeout(SETTLE)
            .unwrap_or_else(|_| panic!("no HealthChanged with online=false; got {seen:?}"));
        if h["online"] == false {
            break h;
        }
        seen.push(h);
    };
    assert!(
        offline["summary"]
            .as_str()
            .unwrap()
            .contains("eth1: no carrier"),
        "{offline}"
    );
    assert_eq!(bus.property("Online").unwrap(), false);
    assert_eq!(bus.property("Overall").unwrap(), "down");

    // A restarted daemon: the watch prints its health again, then follows
    // the new one's signals.
    assert!(d.stop().success());
    let mut d = Daemon::start_with(&node, &bus.env());
    let back = lines
        .recv_timeout(SETTLE)
        .expect("the health of the daemon back");
    assert_eq!(back["node"], "server-1", "{back}");
    node.sw.ip("link set sw-eth1 up");
    d.wait_ready();
    loop {
        let h = lines
            .recv_timeout(SETTLE)
            .expect("HealthChanged from the restarted daemon");
        if h["online"] == true {
            break;
        }
    }

    // SIGTERM ends the watch, exit 0.
    let ok = Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = watch.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn paused_drift_is_reported_not_repaired_until_resume() {
    if !netns_tier() {
        return;
    }
    let (node, bus, d) = setup();
    node.settle();
    let changes = properties_changed(&bus);
    let out = bus.ctl(&["pause"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(bus.property("Paused").unwrap(), true);
    // One signal with what changed: Paused, and the status line saying so.
    let changed = next_change(&changes, "Paused");
    assert_eq!(changed["Paused"], "true");
    assert!(
        changed["Status"].contains("paused by operator"),
        "{changed:?}"
    );
    assert!(!changed.contains_key("Node"), "{changed:?}");

    node.ns.ip("addr del 192.168.30.1/24 dev mv-pods");
    let s = d.wait_status(|s| s["paused"] == true && drift_pending(s));
    let line = s["status"].as_str().unwrap();
    assert!(line.contains("paused by operator"), "{line}");
    assert!(
        line.contains("drift: 1 change(s) pending (not repaired)"),
        "{line}"
    );
    assert!(bus
        .property("Status")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("paused by operator"));
    // Stays drifted: no repair within a bound well above the repair time.
    assert!(
        wait_until(Duration::from_millis(1500), || node
            .has_address("mv-pods", "192.168.30.1/24"))
        .is_none(),
        "repaired while paused; log:\n{}",
        d.log()
    );
    // n3xnetctl status shows it, from the daemon.
    let out = bus.ctl(&["status", "--json", "--netns", &node.ns.name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["source"], "daemon");
    assert_eq!(st["daemon"]["paused"], true);
    assert!(!st["daemon"]["drift"]["pending"]
        .as_array()
        .unwrap()
        .is_empty());
    // Reconcile is refused while paused (resume is the way back).
    let out = bus.ctl(&["reconcile"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("paused by operator"),
        "{}",
        stderr(&out)
    );
    assert!(!node.has_address("mv-pods", "192.168.30.1/24"));

    let out = bus.ctl(&["resume"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        wait_until(SETTLE, || node.has_address("mv-pods", "192.168.30.1/24")).is_some(),
        "not repaired after resume; log:\n{}",
        d.log()
    );
    let s = d.wait_status(|s| s["paused"] == false && s["lastApply"]["trigger"] == "resume");
    assert!(!s["status"].as_str().unwrap().contains("paused"), "{s}");
    assert_eq!(bus.property("Paused").unwrap(), false);
    // Resume when not paused reconciles all the same.
    let at = s["lastApply"]["atMs"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let out = bus.ctl(&["resume"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    d.wait_status(|s| s["lastApply"]["atMs"].as_u64().unwrap() > at);
}

#[test]
fn a_reload_while_paused_is_checked_and_applied_on_resume() {
    if !netns_tier() {
        return;
    }
    let (node, bus, d) = setup();
    node.settle();
    let out = bus.ctl(&["pause"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Invalid: refused with the problems, as when running.
    node.set_profile("this is = = not toml");
    let out = bus.ctl(&["reload"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    // Valid, with the shim in another mode: accepted, not applied.
    let vepa = daemon_util::PROFILE.replace("mode = \"bridge\"", "mode = \"vepa\"");
    assert_ne!(
        vepa,
        daemon_util::PROFILE,
        "the demo profile's shim mode moved"
    );
    node.set_profile(&vepa);
    let out = bus.ctl(&["reload"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = d.wait_status(|s| s["reloadError"].is_null() && drift_pending(s));
    assert_eq!(s["paused"], true);
    assert!(
        wait_until(Duration::from_millis(1000), || node.shim_mode().as_deref()
            == Some("vepa"))
        .is_none(),
        "applied while paused"
    );
    assert_eq!(node.shim_mode().as_deref(), Some("bridge"));

    let out = bus.ctl(&["resume"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        wait_until(SETTLE, || node.shim_mode().as_deref() == Some("vepa")).is_some(),
        "not applied on resume; log:\n{}",
        d.log()
    );
}

#[test]
fn status_says_where_it_read_and_falls_back_to_the_kernel() {
    if !netns_tier() {
        return;
    }
    let (node, bus, d) = setup();
    let pid = d.child.id();
    let out = bus.ctl(&["status", "--json", "--netns", &node.ns.name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["source"], "daemon");
    assert_eq!(st["schemaVersion"], 1);
    assert_eq!(st["daemon"]["pid"], pid);
    assert_eq!(st["daemon"]["node"], "server-1");
    assert_eq!(st["hasDefaultRoute"], true);
    assert!(st["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "eth1"));
    // --kernel: the kernel alone, daemon or not.
    let out = bus.ctl(&["status", "--kernel", "--json", "--netns", &node.ns.name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["source"], "kernel");
    assert!(st.get("daemon").is_none());
    // Another namespace than the daemon's: the kernel, saying why.
    let out = bus.ctl(&["status"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("from the kernel; n3xnetd supervises the network namespace"),
        "{}",
        stdout(&out)
    );

    assert!(d.stop().success());
    let out = bus.ctl(&["status", "--json", "--netns", &node.ns.name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["source"], "kernel");
    assert!(st.get("daemon").is_none());
    assert!(st["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "eth1"));
    let out = bus.ctl(&["status", "--netns", &node.ns.name]);
    assert!(
        stdout(&out).starts_with("from the kernel; n3xnetd is not running"),
        "{}",
        stdout(&out)
    );
    for method in ["pause", "resume", "reload", "reconcile"] {
        let out = bus.ctl(&[method]);
        assert_eq!(code(&out), 69, "{method}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("n3xnetd is not running"),
            "{}",
            stderr(&out)
        );
    }
    let out = bus.ctl(&["status", "--watch", "--netns", &node.ns.name]);
    assert_eq!(code(&out), 69, "{}", stderr(&out));
}

#[test]
fn a_daemon_without_a_bus_runs_and_connects_when_one_appears() {
    if !netns_tier() {
        return;
    }
    let node = Node::new("");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("later.sock");
    let address = format!("unix:path={}", socket.display());
    let mut d = Daemon::start_with(&node, &[("DBUS_SYSTEM_BUS_ADDRESS", &address)]);
    d.wait_ready();
    let log = d.log();
    assert_eq!(
        log.matches("D-Bus: cannot serve io.n3x.Net1").count(),
        1,
        "{log}"
    );
    // No bus at all: the CLI says the daemon is not reachable.
    let out = Command::new(env!("CARGO_BIN_EXE_n3xnetctl"))
        .arg("pause")
        .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
        .output()
        .unwrap();
    assert_eq!(code(&out), 69, "{}", stderr(&out));
    // The bus comes up: the daemon connects as its socket appears, well
    // before its next timed try (10 s).
    let bus = Bus::start_at(&socket);
    assert!(
        wait_until(Duration::from_secs(5), || bus.property("State").is_some()).is_some(),
        "never connected; log:\n{}",
        d.log()
    );
    assert_eq!(bus.property("Node").unwrap(), "server-1");

    // The bus restarts (its socket goes, then comes back): the daemon
    // notices the connection closing and connects to the new bus.
    bus.stop();
    let bus = Bus::start_at(&socket);
    assert!(
        wait_until(Duration::from_secs(5), || bus.property("State").is_some()).is_some(),
        "never reconnected; log:\n{}",
        d.log()
    );
    assert!(
        d.log().contains("closed the connection; reconnecting"),
        "{}",
        d.log()
    );
    assert!(d.running());
}

#[test]
fn a_daemon_on_the_bus_sleeps_at_idle() {
    if !netns_tier() {
        return;
    }
    let (_node, bus, d) = setup();
    d.wait_status(|s| s["ready"] == true);
    assert_eq!(bus.property("Ready").unwrap(), true);
    // Let the linkwatch's delayed operstate events settle.
    std::thread::sleep(Duration::from_millis(1500));
    let before = d.wakeups();
    std::thread::sleep(Duration::from_millis(1500));
    let woke = d.wakeups() - before;
    assert!(
        woke <= 1,
        "the idle daemon on the bus woke up {woke} times in 1.5 s"
    );
}

/// Holds the writer lock of the node's namespace, as another writer would.
fn hold_writer_lock(node: &Node) -> n3xnet::engine::WriterLock {
    netns_util::runtime()
        .block_on(n3xnet::engine::lock::acquire(
            Some(&node.ns.name),
            Some(Duration::ZERO),
        ))
        .unwrap()
}

/// A repair that meets another writer's lock waits for it beside the
/// event loop: the status names the writer, D-Bus calls are answered, and
/// the repair runs (as the operator's reconcile asked meanwhile) once the
/// lock is released.
#[test]
fn a_repair_waits_for_another_writer_and_the_loop_keeps_answering() {
    if !netns_tier() {
        return;
    }
    let (node, bus, d) = setup();
    node.settle();
    let held = hold_writer_lock(&node);
    let me = format!("PID {}", std::process::id());

    node.ns.ip("link del mv-pods");
    let s = d.wait_status(|s| {
        s["drift"]["writer"]
            .as_str()
            .is_some_and(|w| w.starts_with(&me))
    });
    let waiting = format!("waiting for the writer {me}");
    assert!(s["status"].as_str().unwrap().contains(&waiting), "{s}");
    // The loop answers while it waits, and says why it cannot reconcile.
    let out = bus.ctl(&["reconcile"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{me} (")) && stderr(&out).contains("writer lock"),
        "{}",
        stderr(&out)
    );
    assert!(bus
        .property("Status")
        .unwrap()
        .as_str()
        .unwrap()
        .contains(&waiting));
    // And it still follows the kernel: a cable pull shows.
    node.sw.ip("link set sw-eth1 down");
    d.wait_status(|s| s["health"]["online"] == false && s["drift"]["writer"].is_string());
    assert!(
        !node.ns.try_ip("link show dev mv-pods").status.success(),
        "repaired while another writer held the lock; log:\n{}",
        d.log()
    );
    node.sw.ip("link set sw-eth1 up");

    drop(held);
    assert!(
        wait_until(SETTLE, || node.has_address("mv-pods", "192.168.30.1/24")).is_some(),
        "not repaired after the release; log:\n{}",
        d.log()
    );
    let s = d.wait_status(|s| {
        s["drift"]["writer"].is_null()
            && s["drift"]["pending"].as_array().is_some_and(Vec::is_empty)
    });
    assert_eq!(s["lastApply"]["trigger"], "reconcile", "{s}");
}

/// `n3xnetctl apply --profile PROFILE` on the daemon's node, reading the
/// daemon's status from its runtime directory.
fn apply_profile(node: &Node, profile: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_n3xnetctl"))
        .args(["apply", "--node", "server-1", "--netns", &node.ns.name])
        .arg("--profile")
        .arg(profile)
        .arg("--runtime-dir")
        .arg(node.dir.path())
        .args(extra)
        .output()
        .unwrap()
}

/// The demo profile with the node's shim address moved to .9: another
/// network for the same node.
fn other_profile(node: &Node) -> PathBuf {
    let path = node.path("other.toml");
    let text =
        daemon_util::PROFILE.replace("server-1 = \"192.168.30.1\"", "server-1 = \"192.168.30.9\"");
    assert_ne!(text, daemon_util::PROFILE);
    std::fs::write(&path, text).unwrap();
    path
}

/// The same network (another file) is a plain apply the daemon sees in
/// sync; another is refused naming the ways out; `--force` applies and the
/// enforcing daemon repairs its own back; while paused it applies and the
/// daemon reports the difference.
#[test]
fn an_apply_on_a_supervised_node_asks_the_daemon_first() {
    if !netns_tier() {
        return;
    }
    let (node, bus, d) = setup();
    node.settle();
    let copy = node.path("copy.toml");
    std::fs::write(&copy, daemon_util::PROFILE).unwrap();
    let out = apply_profile(&node, &copy, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("in sync"), "{}", stdout(&out));
    let s = d.status();
    assert_eq!(s["repairs"], 0);
    assert!(s["drift"]["pending"].as_array().unwrap().is_empty());

    let other = other_profile(&node);
    let out = apply_profile(&node, &other, &[]);
    assert_eq!(code(&out), 79, "{}", stderr(&out));
    for hint in ["n3xnetctl reload", "n3xnetctl pause", "--force"] {
        assert!(stderr(&out).contains(hint), "{hint}: {}", stderr(&out));
    }
    assert!(node.has_address("mv-pods", "192.168.30.1/24"));
    assert!(!node.has_address("mv-pods", "192.168.30.9/24"));

    // --force on an enforcing daemon: applied, then repaired back.
    let out = apply_profile(&node, &other, &["--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("repairs its own profile back"),
        "{}",
        stderr(&out)
    );
    assert!(
        wait_until(SETTLE, || node.has_address("mv-pods", "192.168.30.1/24")
            && !node.has_address("mv-pods", "192.168.30.9/24"))
        .is_some(),
        "the enforcing daemon did not repair its profile back; log:\n{}",
        d.log()
    );
    d.wait_status(|s| s["repairs"].as_u64().is_some_and(|r| r >= 1));

    // Paused: the apply goes through, the daemon reports the difference.
    let out = bus.ctl(&["pause"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    d.wait_status(|s| s["paused"] == true);
    let out = apply_profile(&node, &other, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("paused: applying"),
        "{}",
        stderr(&out)
    );
    assert!(node.has_address("mv-pods", "192.168.30.9/24"));
    let s = d.wait_status(|s| {
        s["drift"]["pending"].as_array().is_some_and(|p| {
            p.iter()
                .any(|op| op.as_str().unwrap().contains("192.168.30.1"))
        })
    });
    assert!(
        s["status"]
            .as_str()
            .unwrap()
            .contains("pending (not repaired)"),
        "{s}"
    );
    assert!(
        node.has_address("mv-pods", "192.168.30.9/24"),
        "repaired while paused"
    );
}

/// In report mode a forced apply of another profile stays: the daemon
/// reports the difference as drift and repairs nothing.
#[test]
fn a_forced_apply_under_a_reporting_daemon_shows_as_drift() {
    if !netns_tier() {
        return;
    }
    let node = Node::new("drift = \"report\"\n");
    let mut d = Daemon::start(&node);
    d.wait_ready();
    node.settle();
    let other = other_profile(&node);
    let out = apply_profile(&node, &other, &[]);
    assert_eq!(code(&out), 79, "{}", stderr(&out));
    let out = apply_profile(&node, &other, &["--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("repairs its own profile back"),
        "{}",
        stderr(&out)
    );
    let s = d.wait_status(|s| {
        s["drift"]["pending"].as_array().is_some_and(|p| {
            p.iter()
                .any(|op| op.as_str().unwrap().contains("192.168.30.1"))
        })
    });
    assert!(
        s["status"].as_str().unwrap().contains("(report mode)"),
        "{s}"
    );
    assert_eq!(s["repairs"], 0);
    assert!(node.has_address("mv-pods", "192.168.30.9/24"));
}
