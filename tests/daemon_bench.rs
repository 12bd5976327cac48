//! Measurements of the running daemon (not a pass/fail test of speed):
//! start → READY, carrier loss → health change (the daemon's own
//! `latency_us`: from the first notification of a burst taken off the
//! socket to the recomputed health), drift repair (`since_event_us`), and
//! idle cost (RSS, CPU time, wakeups), and the idle cost of `n3xnet-report`
//! beside it. Opt-in:
//! `cargo test --release --test daemon_bench -- --ignored --nocapture`;
//! `N3XNET_BENCH_IDLE_SECS` sets the idle period (default 10).

mod daemon_util;
mod netns_util;

use std::fs;
use std::time::{Duration, Instant};

use daemon_util::{logged_repair_us, wait_until, Daemon, Node, SETTLE};
use netns_util::netns_tier;

const CARRIER_LOSSES: usize = 20;

/// `latency_us` of every "health: offline" line of the log.
fn offline_latencies(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("health: offline") && l.contains("latency_us="))
        .filter_map(|l| {
            l.split("latency_us=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

fn proc_status(pid: u32, key: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// utime + stime, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may contain spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn summary(name: &str, mut v: Vec<u64>) -> String {
    v.sort_unstable();
    let pct = |p: usize| v[(v.len() - 1) * p / 100];
    format!(
        "| {name} | {} | {} | {} | {} |",
        v.len(),
        pct(50),
        pct(95),
        v[v.len() - 1]
    )
}

#[test]
#[ignore = "measurement; run with --ignored --nocapture"]
fn daemon_measurements() {
    if !netns_tier() {
        return;
    }
    let idle_secs: u64 = std::env::var("N3XNET_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    // The reporter beside it writes a Prometheus textfile and waits for a
    // kubeconfig that never comes (a node before k3s joins).
    let textfiles = tempfile::tempdir().unwrap();
    let node = Node::new(&format!(
        "[prometheus]\ntextfile = \"{}\"\n",
        textfiles.path().join("n3xnet.prom").display()
    ));
    let spawned = Instant::now();
    let mut d = Daemon::start(&node);
    d.wait_ready();
    let to_ready = spawned.elapsed();
    node.settle();
    // A restart on a node already in sync: no writes, links already up.
    assert!(d.stop().success());
    let spawned = Instant::now();
    let mut d = Daemon::start(&node);
    d.wait_ready();
    let restart_to_ready = spawned.elapsed();
    assert_eq!(d.wait_status(|s| s["ready"] == true)["writes"], 0);
    let pid = d.child.id();
    let r = Daemon::report(&node);
    r.wait_status(|s| s["files"][0]["writtenAtMs"].is_u64());
    let report_pid = r.child.id();

    // Carrier loss: the switch side of the cable goes down, then back up.
    for _ in 0..CARRIER_LOSSES {
        node.sw.ip("link set sw-eth1 down");
        d.wait_status(|s| s["health"]["online"] == false);
        node.sw.ip("link set sw-eth1 up");
        d.wait_status(|s| s["health"]["summary"] == "online: cluster ok, multus:pods ok");
    }
    let carrier = offline_latencies(&d.log());
    assert!(carrier.len() >= CARRIER_LOSSES, "{}", d.log());

    // Repairs: three each of two different drifts (more of one drift in a
    // row would meet the backoff, by design).
    let mut repairs = Vec::new();
    for args in ["link del mv-pods", "addr del 192.168.1.1/24 dev eth1"] {
        for _ in 0..3 {
            let before = logged_repair_us(&d.log());
            node.ns.ip(args);
            assert!(wait_until(SETTLE, || node.in_sync()).is_some());
            wait_until(SETTLE, || logged_repair_us(&d.log()) != before);
            repairs.push(logged_repair_us(&d.log()).unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    node.settle();
    std::thread::sleep(Duration::from_secs(1));
    let (ticks, wakeups) = (cpu_ticks(pid), d.wakeups());
    let (report_ticks, report_wakeups) = (cpu_ticks(report_pid), r.wakeups());
    std::thread::sleep(Duration::from_secs(idle_secs));
    let idle_ticks = cpu_ticks(pid) - ticks;
    let idle_wakeups = d.wakeups() - wakeups;
    let report_idle_ticks = cpu_ticks(report_pid) - report_ticks;
    let report_idle_wakeups = r.wakeups() - report_wakeups;
    let rss = proc_status(pid, "VmRSS:");
    let hwm = proc_status(pid, "VmHWM:");
    let anon = proc_status(pid, "RssAnon:");
    let threads = proc_status(pid, "Threads:");

    println!(
        "\nn3xnetd ({}):",
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        }
    );
    println!(
        "- spawn to READY=1, demo profile on a fresh netns (6 ops, then the kernel's \
         operstate delay): {to_ready:?}"
    );
    println!("- spawn to READY=1, restart on the node in sync (0 writes): {restart_to_ready:?}");
    println!("\n| µs | n | median | p95 | max |\n|---|---|---|---|---|");
    println!(
        "{}",
        summary("carrier loss → health change (in-process)", carrier)
    );
    println!(
        "{}",
        summary("drift event → repaired and verified (in-process)", repairs)
    );
    println!(
        "\nidle {idle_secs} s: CPU {idle_ticks} tick(s), {idle_wakeups} wakeup(s); \
         VmRSS {rss} KiB (peak {hwm} KiB, anonymous {anon} KiB), {threads} thread(s)"
    );
    println!(
        "n3xnet-report beside it, same {idle_secs} s (textfile sink, waiting for a kubeconfig): \
         CPU {report_idle_ticks} tick(s), {report_idle_wakeups} wakeup(s); VmRSS {} KiB \
         (peak {} KiB, anonymous {} KiB), {} thread(s)",
        proc_status(report_pid, "VmRSS:"),
        proc_status(report_pid, "VmHWM:"),
        proc_status(report_pid, "RssAnon:"),
        proc_status(report_pid, "Threads:"),
    );
    assert!(d.running());
}
