//! Crash safety at every write (issue 16 item 3): the `fault-injection`
//! build of n3xnetctl (`scripts/build-fault-injection`) aborts right after
//! its k-th write (`N3XNET_ABORT_AFTER_WRITE=k`). For every k of a fresh
//! apply of a shim profile, and for every k of the rollback of one that
//! fails at its last op, next to foreign objects (a macvlan, a VIP, a
//! route): abort at k; every link of the profile already carries n3xnet's
//! group (the mark of the creating request: none is ever unmarked); then
//! the normal n3xnetctl's `apply` exits 0, `check` exits 0, the foreign
//! objects are as they were (`ip -j`) and every link of the profile carries
//! the alias too.
//!
//! `N3XNET_CRASH_SHIMS=50` and `N3XNET_CRASH_ROLLBACK_SHIMS=20` (the
//! defaults) size the profiles; CI runs every k of both.

mod daemon_util;
mod netns_util;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use daemon_util::{fault_bin, Daemon, Node};
use netns_util::{
    env_list, netns_tier, shim_ctl, shim_node, shim_profile, shim_subnet, Netns, SHIM_NODE,
};
use serde_json::Value;

/// Runs `n3xnetctl CMD --json` on `profile` in `ns` with `ctl`, with `abort_at`
/// set for the fault-injection build; no core dump.
fn ctl(ctl: &Path, cmd: &str, ns: &Netns, profile: &Path, abort_at: Option<u64>) -> Output {
    let mut c = shim_ctl(ctl, cmd, ns, profile);
    if let Some(k) = abort_at {
        c.env("N3XNET_ABORT_AFTER_WRITE", k.to_string());
    }
    // SAFETY: setrlimit is async-signal-safe; nothing else runs before exec.
    unsafe {
        c.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
    c.output().unwrap()
}

/// The normal n3xnetctl, beside the injected one.
fn normal_ctl() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_n3xnetctl"))
}

/// The report of the normal n3xnetctl's `apply` of `profile` in `ns`.
fn apply_report(ns: &Netns, profile: &Path) -> Value {
    report(&ctl(normal_ctl(), "apply", ns, profile, None))
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The shim node with foreign objects beside what the profile declares.
fn node_with_foreigners() -> (Netns, Netns) {
    let (ns, sw) = shim_node();
    add_foreigners(&ns);
    (ns, sw)
}

/// A macvlan `fmv0` on the NIC with an address of its own, a
/// keepalived-style VIP on the NIC and a static route through it (the NIC
/// has its cluster address 10.99.0.1/24).
fn add_foreigners(ns: &Netns) {
    ns.ip("link add fmv0 link eth1 type macvlan mode bridge");
    ns.ip("link set fmv0 addrgenmode none");
    ns.ip("addr add 10.98.0.1/24 dev fmv0");
    ns.ip("link set fmv0 up");
    ns.ip("addr add 10.99.0.100/32 dev eth1");
    ns.ip("route add 192.0.2.0/24 via 10.99.0.254 dev eth1");
}

/// The foreign objects, as `ip -j` shows them.
fn foreign(ns: &Netns) -> Vec<Value> {
    vec![
        ns.link("fmv0"),
        ns.ip_json("addr show dev fmv0"),
        ns.ip_json("addr show to 10.99.0.100/32"),
        ns.ip_json("route show 192.0.2.0/24"),
    ]
}

/// The profile's links in `ns` (all but loopback, the NIC and the foreign
/// macvlan) whose `ip -N -j link` entry fails `marked`.
fn profile_links_without(ns: &Netns, marked: impl Fn(&Value) -> bool) -> Vec<String> {
    let links = ns.ip_json("-N -d link show");
    links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| !matches!(l["ifname"].as_str(), Some("lo" | "eth1" | "fmv0")))
        .filter(|l| !marked(l))
        .map(|l| l["ifname"].as_str().unwrap().to_owned())
        .collect()
}

fn in_group(l: &Value) -> bool {
    l["group"] == "28211"
}

fn fully_marked(l: &Value) -> bool {
    in_group(l) && l["ifalias"] == "n3xnet"
}

/// The shim profile, and the same with a last op the kernel refuses: a
/// route through the broadcast address of the last shim's subnet (EINVAL).
/// It waits for that shim's address, so it runs in the last batch, after
/// every write of the shims, and the rollback undoes all of them.
fn profiles(dir: &Path, shims: usize) -> (PathBuf, PathBuf, String) {
    let good = dir.join("shims.toml");
    let doomed = dir.join("shims-doomed.toml");
    std::fs::write(&good, shim_profile(shims)).unwrap();
    let gateway = format!("{}.255", shim_subnet(shims - 1));
    std::fs::write(
        &doomed,
        shim_profile(shims)
            + &format!("\n[[routes]]\nto = \"10.77.0.0/16\"\nvia = \"{gateway}\"\n"),
    )
    .unwrap();
    let op = format!("add route 10.77.0.0/16 via {gateway} dev mv{}", shims - 1);
    (good, doomed, op)
}

/// One matrix at a time: each runs two namespaces at once, which is what
/// this tier can afford beside the other tests.
static MATRIX: Mutex<()> = Mutex::new(());

/// For every k of `ks`: in a fresh node with foreign objects, the
/// injected `apply` of `crashing` aborts after write k; every profile link
/// is in n3xnet's group; then `apply` and `check` of `good` exit 0, the
/// foreign objects are unchanged and every profile link carries both marks.
/// Two namespaces at a time; prints what it did and how long it took.
fn matrix(what: &str, ks: std::ops::RangeInclusive<u64>, crashing: &Path, good: &Path) {
    let _one = MATRIX.lock().unwrap_or_else(|e| e.into_inner());
    let faulty = fault_bin("n3xnetctl");
    let normal = normal_ctl();
    let ks: Vec<u64> = ks.collect();
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let worker = || loop {
        let Some(&k) = ks.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return;
        };
        let (ns, _sw) = node_with_foreigners();
        let before = foreign(&ns);
        let out = ctl(&faulty, "apply", &ns, crashing, Some(k));
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&out.status),
            Some(libc::SIGABRT),
            "{what}, k={k}: the injected apply did not abort: {out:?}"
        );
        let unmarked = profile_links_without(&ns, in_group);
        assert!(
            unmarked.is_empty(),
            "{what}, k={k}: the abort left {unmarked:?} without n3xnet's group"
        );
        let out = ctl(normal, "apply", &ns, good, None);
        assert!(
            out.status.success(),
            "{what}, k={k}: apply after the abort: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = ctl(normal, "check", &ns, good, None);
        assert!(
            out.status.success(),
            "{what}, k={k}: check after the recovery: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(
            foreign(&ns),
            before,
            "{what}, k={k}: foreign objects changed"
        );
        let unmarked = profile_links_without(&ns, fully_marked);
        assert!(
            unmarked.is_empty(),
            "{what}, k={k}: the recovery left {unmarked:?} without alias and group"
        );
    };
    std::thread::scope(|s| {
        let a = s.spawn(worker);
        let b = s.spawn(worker);
        a.join().unwrap();
        b.join().unwrap();
    });
    println!(
        "crash matrix, {what}: k = {}..={}, {:.1} s",
        ks.first().unwrap_or(&0),
        ks.last().unwrap_or(&0),
        start.elapsed().as_secs_f64(),
    );
}

#[test]
fn an_abort_after_any_write_of_an_apply_converges_with_every_link_marked() {
    if !netns_tier() {
        return;
    }
    let shims = env_list("N3XNET_CRASH_SHIMS", "50")[0];
    let dir = tempfile::tempdir().unwrap();
    let (good, _, _) = profiles(dir.path(), shims);
    // The number of writes of a fresh apply: the matrix's k range.
    let total = {
        let (ns, _sw) = node_with_foreigners();
        let r = apply_report(&ns, &good);
        assert_eq!(r["outcome"], "applied", "{r}");
        r["writes"].as_u64().unwrap()
    };
    assert_eq!(total, 4 * shims as u64, "4 writes per shim");
    matrix(&format!("{shims} shims, apply"), 1..=total, &good, &good);
}

#[test]
fn an_abort_after_any_write_of_a_rollback_converges() {
    if !netns_tier() {
        return;
    }
    // Fewer shims than the apply's matrix: each k here runs the whole
    // apply before its rollback (50 shims: 150 k, ~100 s under load).
    let shims = env_list("N3XNET_CRASH_ROLLBACK_SHIMS", "20")[0];
    let dir = tempfile::tempdir().unwrap();
    let (good, doomed, doomed_op) = profiles(dir.path(), shims);
    // The writes of the failing apply and of its rollback, counted on by
    // the process: the rollback's are the k after the apply's.
    let (writes, rollback) = {
        let (ns, _sw) = node_with_foreigners();
        let r = apply_report(&ns, &doomed);
        assert_eq!(r["outcome"], "rolled-back", "{r}");
        assert_eq!(r["failure"]["op"], doomed_op.as_str(), "{r}");
        assert_eq!(
            r["writes"].as_u64(),
            Some(4 * shims as u64 + 1),
            "every shim's writes, then the route's: {r}"
        );
        (
            r["writes"].as_u64().unwrap(),
            r["rollbackWrites"].as_u64().unwrap(),
        )
    };
    assert!(rollback >= shims as u64, "{rollback} rollback writes");
    matrix(
        &format!("{shims} shims, rollback"),
        writes + 1..=writes + rollback,
        &doomed,
        &good,
    );
}

/// A shim node supervised by n3xnetd after n3xnetctl applied its profile,
/// with the foreign objects beside it; the daemon not started yet.
fn supervised_shim_node(shims: usize) -> Node {
    let node = Node::with_profile(&shim_profile(shims), SHIM_NODE, "");
    let r = apply_report(&node.ns, &node.path("profile.toml"));
    assert_eq!(r["outcome"], "applied", "{r}");
    add_foreigners(&node.ns);
    node
}

/// Deletes every shim in one `ip -batch` while the daemon is stopped, so
/// that it wakes to one burst of events and repairs them in one apply.
fn delete_all_shims(node: &Node, d: &Daemon, shims: usize) {
    let batch = node.path("delete.batch");
    let script: String = (0..shims).map(|i| format!("link del mv{i}\n")).collect();
    std::fs::write(&batch, script).unwrap();
    d.signal("STOP");
    node.ns.ip(&format!("-batch {}", batch.display()));
    d.signal("CONT");
}

/// n3xnetd (fault-injection build) on an in-sync node whose start apply
/// writes nothing, so `N3XNET_ABORT_AFTER_WRITE` counts the writes of the
/// repair of every shim deleted at once: aborted at the first, the middle
/// and the last write of that repair, and where all but one shim are
/// half-created, every shim left is in n3xnet's group;
/// a normal n3xnetd started after it repairs the node in its start apply
/// (`n3xnetctl check` exits 0), the foreign objects unchanged and every
/// shim with both marks.
#[test]
fn n3xnetd_aborted_in_a_repair_is_repaired_by_the_next_one() {
    if !netns_tier() {
        return;
    }
    let shims = 20;
    let started = Instant::now();
    // The repair's writes, from a daemon that is not stopped.
    let total = {
        let node = supervised_shim_node(shims);
        let mut d = Daemon::start(&node);
        d.wait_ready();
        assert_eq!(d.status()["writes"], 0, "an in-sync start writes nothing");
        delete_all_shims(&node, &d, shims);
        let s = d.wait_status(|s| {
            s["repairs"] == 1 && s["drift"]["pending"].as_array().is_some_and(Vec::is_empty)
        });
        assert_eq!(s["lastApply"]["outcome"], "applied", "{s:#}");
        s["writes"].as_u64().unwrap()
    };
    assert_eq!(total, 4 * shims as u64, "one repair, 4 writes per shim");
    // The shims' creates go out first, then their marks, ups, addresses:
    // k = shims + 1 leaves all but one shim half-created.
    let ks = [1, shims as u64 + 1, total / 2, total];
    for k in ks {
        let node = supervised_shim_node(shims);
        let before = foreign(&node.ns);
        let k_text = k.to_string();
        let mut d = Daemon::start_program(
            &node,
            fault_bin("n3xnetd").to_str().unwrap(),
            &[("N3XNET_ABORT_AFTER_WRITE", &k_text)],
        );
        d.wait_ready();
        assert_eq!(d.status()["writes"], 0, "k={k}: the start wrote");
        delete_all_shims(&node, &d, shims);
        let status = d.wait_exit();
        assert_eq!(
            status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)),
            Some(libc::SIGABRT),
            "k={k}: n3xnetd did not abort: {status:?}\n{}",
            d.log()
        );
        assert!(
            d.log().contains(&format!(
                "aborting after write {k} (N3XNET_ABORT_AFTER_WRITE)"
            )),
            "k={k}: {}",
            d.log()
        );
        let unmarked = profile_links_without(&node.ns, in_group);
        assert!(
            unmarked.is_empty(),
            "k={k}: the abort left {unmarked:?} without n3xnet's group"
        );
        if k == shims as u64 + 1 {
            let half_created = profile_links_without(&node.ns, |l| l["ifalias"] == "n3xnet");
            assert_eq!(half_created.len(), shims - 1, "k={k}: {half_created:?}");
        }

        let mut d = Daemon::start(&node);
        d.wait_ready();
        let s = d.status();
        assert_eq!(s["lastApply"]["trigger"], "start", "k={k}: {s:#}");
        // After the repair's last write only its verify was missing.
        let repaired = if k < total { "applied" } else { "in-sync" };
        assert_eq!(s["lastApply"]["outcome"], repaired, "k={k}: {s:#}");
        let out = ctl(
            normal_ctl(),
            "check",
            &node.ns,
            &node.path("profile.toml"),
            None,
        );
        assert!(
            out.status.success(),
            "k={k}: check after the restart: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(foreign(&node.ns), before, "k={k}: foreign objects changed");
        let unmarked = profile_links_without(&node.ns, fully_marked);
        assert!(
            unmarked.is_empty(),
            "k={k}: the restart left {unmarked:?} without alias and group"
        );
        assert!(d.stop().success());
    }
    println!(
        "n3xnetd crash in a repair: {shims} shims deleted at once, {total} writes, aborts at \
         k = {ks:?}: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
