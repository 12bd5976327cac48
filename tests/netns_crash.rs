//! Crash safety at every write (issue 16 item 3): the `fault-injection`
//! build of n3xnetctl (`scripts/build-fault-injection`) aborts right after
//! its k-th write (`N3XNET_ABORT_AFTER_WRITE=k`). For every k of a fresh
//! apply of a shim profile, next to foreign objects (a macvlan, a VIP, a
//! route): abort at k, then the normal n3xnetctl's `apply` exits 0, `check`
//! exits 0, the foreign objects are as they were (`ip -j`) and every link
//! but the NIC and the foreign one carries our alias (none orphaned).
//!
//! `N3XNET_CRASH_SHIMS=50` (the default) sizes the profile; CI runs every k.

mod netns_util;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use netns_util::{env_list, netns_tier, shim_ctl, shim_node, shim_profile, Netns};
use serde_json::Value;

/// The fault-injection build of a binary, beside the normal one. Missing,
/// the test fails: CI must not go green without the matrix.
fn fault_bin(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_n3xnetctl"))
        .with_file_name("fault-injection")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: run scripts/build-fault-injection first (scripts/test does)",
        bin.display()
    );
    bin
}

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

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The shim node with foreign objects beside what the profile declares: a
/// macvlan `fmv0` on the NIC with an address of its own, a keepalived-style
/// VIP on the NIC and a static route through it.
fn node_with_foreigners() -> (Netns, Netns) {
    let (ns, sw) = shim_node();
    ns.ip("link add fmv0 link eth1 type macvlan mode bridge");
    ns.ip("link set fmv0 addrgenmode none");
    ns.ip("addr add 10.98.0.1/24 dev fmv0");
    ns.ip("link set fmv0 up");
    ns.ip("addr add 10.99.0.100/32 dev eth1");
    ns.ip("route add 192.0.2.0/24 via 10.99.0.254 dev eth1");
    (ns, sw)
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

/// Links that are neither the NIC, loopback, the foreign macvlan nor
/// marked with our alias: orphans nobody would ever clean up.
fn unmarked(ns: &Netns) -> Vec<String> {
    let links = ns.ip_json("-d link show");
    links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| !matches!(l["ifname"].as_str(), Some("lo" | "eth1" | "fmv0")))
        .filter(|l| l["ifalias"].as_str() != Some("n3xnet"))
        .map(|l| l["ifname"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_abort_after_any_write_converges_on_the_next_apply() {
    if !netns_tier() {
        return;
    }
    let faulty = fault_bin("n3xnetctl");
    let normal = Path::new(env!("CARGO_BIN_EXE_n3xnetctl"));
    let shims = env_list("N3XNET_CRASH_SHIMS", "50")[0];
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("shims.toml");
    std::fs::write(&profile, shim_profile(shims)).unwrap();

    // The number of writes of a fresh apply: the matrix's k range.
    let total = {
        let (ns, _sw) = node_with_foreigners();
        let r = report(&ctl(normal, "apply", &ns, &profile, None));
        assert_eq!(r["outcome"], "applied", "{r}");
        r["writes"].as_u64().unwrap()
    };
    assert!(total > 0);

    let start = Instant::now();
    let next = AtomicU64::new(1);
    let unmarked_at = Mutex::new(Vec::new());
    let worker = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k > total {
            return;
        }
        let (ns, _sw) = node_with_foreigners();
        let before = foreign(&ns);
        let out = ctl(&faulty, "apply", &ns, &profile, Some(k));
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&out.status),
            Some(libc::SIGABRT),
            "k={k}: the injected apply did not abort: {out:?}"
        );
        let orphans = unmarked(&ns);
        let out = ctl(normal, "apply", &ns, &profile, None);
        assert!(
            out.status.success(),
            "k={k}: apply after the abort: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = ctl(normal, "check", &ns, &profile, None);
        assert!(
            out.status.success(),
            "k={k}: check after the recovery: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(foreign(&ns), before, "k={k}: foreign objects changed");
        let left = unmarked(&ns);
        assert!(
            left.iter().all(|l| orphans.contains(l)),
            "k={k}: the recovery left {left:?} unmarked, the abort {orphans:?}"
        );
        if !left.is_empty() {
            unmarked_at.lock().unwrap().push(k);
        }
    };
    std::thread::scope(|s| {
        let a = s.spawn(worker);
        let b = s.spawn(worker);
        a.join().unwrap();
        b.join().unwrap();
    });
    let mut unmarked_at = unmarked_at.into_inner().unwrap();
    unmarked_at.sort_unstable();
    println!(
        "crash matrix: {shims} shims, k = 1..={total}, {:.1} s; links left unmarked for good \
         after an abort at {} k ({:?}..={:?})",
        start.elapsed().as_secs_f64(),
        unmarked_at.len(),
        unmarked_at.first(),
        unmarked_at.last(),
    );
    // KNOWN DEFECT (issue 16 item 3), pinned so that a fix must update it:
    // a link is created (write 1 of its op) and marked by a second request
    // (alias and addr_gen_mode none together: the kernel ignores
    // IFLA_IFALIAS and refuses IFLA_AF_SPEC in a create), so an abort
    // between them leaves a same-kind link without our alias, and the next
    // apply adopts it as it is: in sync, but never ours to delete. With n
    // shims created in one batch that is k = 1..=2n-1. The one mark the
    // kernel takes at creation is IFLA_GROUP (README, "Crash injection");
    // once ownership is read from it, no k leaves one: replace this with
    // `assert!(unmarked_at.is_empty())`.
    let known: Vec<u64> = (1..=2 * shims as u64 - 1).collect();
    assert_eq!(
        unmarked_at, known,
        "links left unmarked changed: update the pin"
    );
}
