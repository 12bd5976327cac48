//! Benchmark, not a test: `n3xnetctl apply` against `ip -batch` doing the
//! same writes, for N macvlan shims on one NIC (a veth), each created,
//! marked, IPv6-autoconf-free, up, with an address; then a second apply,
//! which must find the node in sync and send no write. Both run as whole
//! processes in a fresh network namespace per run, release build:
//!
//! `cargo test --release --test netns_bench -- --ignored --nocapture`
//!
//! `N3XNET_BENCH_N=10,100,1000` (the default) picks the sizes and
//! `N3XNET_BENCH_ROUNDS=5` the runs per variant; medians are reported.
//! Results go to BENCHMARKS.md by hand.

mod netns_util;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netns_util::{
    env_list, netns_tier, shim_ctl, shim_node as node, shim_profile as profile,
    shim_subnet as subnet, Netns,
};
use serde_json::Value;

/// What n3xnet sends, as `ip` commands: create in its group, then mark and
/// turn IPv6 autoconf off, up, address (iproute2 6.1 cannot set an
/// address's protocol, which n3xnet sets in the same request).
fn ip_script(n: usize) -> String {
    let mut script = String::new();
    for i in 0..n {
        script += &format!("link add mv{i} link eth1 group 28211 type macvlan mode bridge\n");
        script += &format!("link set mv{i} alias n3xnet addrgenmode none\n");
    }
    for i in 0..n {
        script += &format!("link set mv{i} up\naddr add {}.1/24 dev mv{i}\n", subnet(i));
    }
    script
}

fn ip_batch(ns: &Netns, script: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new("ip")
        .args(["-n", &ns.name, "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    start.elapsed()
}

/// Runs `n3xnetctl CMD --json` on the profile inside `ns`: wall time, exit
/// code and the JSON report.
fn ctl(cmd: &str, ns: &Netns, profile: &std::path::Path) -> (Duration, i32, Value) {
    let start = Instant::now();
    let out = shim_ctl(env!("CARGO_BIN_EXE_n3xnetctl").as_ref(), cmd, ns, profile)
        .output()
        .unwrap();
    let took = start.elapsed();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "n3xnetctl {cmd}: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (took, out.status.code().unwrap_or(-1), json)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Medians of one size.
struct Row {
    n: usize,
    ip: Duration,
    apply: Duration,
    reapply: Duration,
    writes: u64,
    /// Median of each phase of `apply --json`'s timings.
    phases: Vec<(&'static str, f64)>,
}

fn bench(n: usize, rounds: usize, dir: &std::path::Path) -> Row {
    let path = dir.join(format!("bench-{n}.toml"));
    std::fs::write(&path, profile(n)).unwrap();
    let script = ip_script(n);

    // The two variants end in the same state: n3xnet finds ip's in sync.
    let (ns, _sw) = node();
    ip_batch(&ns, &script);
    let (_, code, plan) = ctl("plan", &ns, &path);
    assert_eq!(code, 0, "ip -batch left something for n3xnet to do: {plan}");

    const PHASES: [&str; 4] = ["dumpMs", "planMs", "executeMs", "verifyMs"];
    let (mut ip, mut apply, mut reapply, mut writes) = (vec![], vec![], vec![], 0);
    let mut phases: Vec<Vec<f64>> = vec![vec![]; PHASES.len() + 1];
    for _ in 0..rounds {
        let (ns, _sw) = node();
        ip.push(ip_batch(&ns, &script));

        let (ns, _sw) = node();
        let (took, code, r) = ctl("apply", &ns, &path);
        assert_eq!(code, 0, "{r}");
        assert_eq!(r["outcome"], "applied", "{r}");
        assert_eq!(r["verified"], true);
        assert_eq!(r["applied"].as_array().unwrap().len(), 3 * n);
        writes = r["writes"].as_u64().unwrap();
        apply.push(took);
        for (i, p) in PHASES.iter().enumerate() {
            phases[i].push(r["timings"][p].as_f64().unwrap());
        }
        // What the process spends outside apply: start, profile, output.
        let total = r["timings"]["totalMs"].as_f64().unwrap();
        phases[PHASES.len()].push(ms(took) - total);

        let (took, code, r) = ctl("apply", &ns, &path);
        assert_eq!(code, 0, "{r}");
        assert_eq!(r["outcome"], "in-sync", "{r}");
        assert_eq!(r["writes"], 0, "an in-sync re-apply wrote: {r}");
        reapply.push(took);
    }
    let names = PHASES.into_iter().chain(["process"]);
    Row {
        n,
        ip: median(ip),
        apply: median(apply),
        reapply: median(reapply),
        writes,
        phases: names.zip(phases.into_iter().map(median_f)).collect(),
    }
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn apply_against_ip_batch() {
    if !netns_tier() {
        return;
    }
    let sizes = env_list("N3XNET_BENCH_N", "10,100,1000");
    let rounds = env_list("N3XNET_BENCH_ROUNDS", "5")[0];
    let dir = std::env::temp_dir().join(format!("n3xnet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rows: Vec<Row> = sizes.iter().map(|&n| bench(n, rounds, &dir)).collect();
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "\nmacvlan shims + addresses, whole processes, median of {rounds} (ms; per shim in µs)\n\
         | N | ip -batch | n3xnetctl apply | apply / ip | ip per shim | apply per shim | \
         writes | re-apply (0 writes) | apply phases: dump / plan / execute / verify / process |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for r in &rows {
        let phases: Vec<String> = r.phases.iter().map(|(_, v)| format!("{v:.1}")).collect();
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.0} | {:.0} | {} | {:.1} | {} |",
            r.n,
            ms(r.ip),
            ms(r.apply),
            r.apply.as_secs_f64() / r.ip.as_secs_f64(),
            ms(r.ip) * 1000.0 / r.n as f64,
            ms(r.apply) * 1000.0 / r.n as f64,
            r.writes,
            ms(r.reapply),
            phases.join(" / "),
        );
    }
}
