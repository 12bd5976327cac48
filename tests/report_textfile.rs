//! The Prometheus sink against the real tools it feeds: Debian's
//! `promtool` (package `prometheus`) checks the rendered text and the
//! example alert rules, and a real `prometheus-node-exporter` (package
//! `prometheus-node-exporter`; both `scripts/install-deps metrics`) serves
//! the file [`ChangedFile::publish`] writes, scraped over HTTP inside a network
//! namespace of its own (root), where its fixed port 9100 cannot collide
//! with a node_exporter of this machine. A missing tool fails the test.
//!
//! The statuses are `tests/report/*.json`, the unit tests' fixtures (which
//! `src/report/textfile.rs` keeps fresh): an 802.3ad node with every cable
//! in, and the same node after eth2's cable was pulled, as the health
//! model computes them.

mod daemon_util;
mod netns_util;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Seek as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use daemon_util::{wait_until, Daemon, Node, SETTLE};
use n3xnet::api::status::{BackoffStatus, DaemonStatus, Phase};
use n3xnet::report::textfile::render;
use n3xnet::report::ChangedFile;
use netns_util::{netns_tier, Netns};

const HEALTHY: &str = include_str!("report/healthy.json");
const PULLED: &str = include_str!("report/eth2-pulled.json");
const RULES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/doc/prometheus");
const LISTEN: &str = "127.0.0.1:9100";

fn status(json: &str) -> DaemonStatus {
    serde_json::from_str(json).unwrap()
}

/// A program of a Debian package, or the test fails naming the package.
fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: Debian package {package} (scripts/install-deps metrics)"
            )
        })
}

/// A series: the metric's name and its labels, values as escaped in the
/// text.
type Series = (String, BTreeMap<String, String>);

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (name.to_owned(), labels)
}

/// `name{k="v",...}`, in any label order (node_exporter sorts them).
fn parse_series(text: &str) -> Series {
    let Some((name, rest)) = text.split_once('{') else {
        return (text.to_owned(), BTreeMap::new());
    };
    let mut rest = rest.strip_suffix('}').unwrap_or_else(|| panic!("{text}"));
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{text}"));
        // The value ends at the first quote that is not escaped.
        let bytes = after.as_bytes();
        let mut end = 0;
        while bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        labels.insert(key.to_owned(), after[..end].to_owned());
        rest = after[end + 1..].trim_start_matches(',');
    }
    (name.to_owned(), labels)
}

/// The samples of an exposition text, by series.
fn samples(text: &str) -> BTreeMap<Series, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("{l}"));
            let value = value.parse().unwrap_or_else(|e| panic!("{l}: {e}"));
            (parse_series(series), value)
        })
        .collect()
}

/// `promtool ARGS` in the rules' directory, reading `stdin`: its output,
/// or the test fails on a non-zero exit.
fn promtool(args: &[&str], stdin: &str) -> String {
    let mut input = tempfile::tempfile().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    input.seek(std::io::SeekFrom::Start(0)).unwrap();
    let out = Command::new(tool("promtool", "prometheus"))
        .args(args)
        .current_dir(RULES_DIR)
        .stdin(input)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "promtool {args:?}: {}\n{text}",
        out.status
    );
    text
}

#[test]
fn promtool_finds_nothing_to_lint_in_any_status() {
    let starting = DaemonStatus {
        node: "server-1".into(),
        ..DaemonStatus::default()
    };
    // Everything optional set, odd names, states this version does not know.
    let mut odd = status(PULLED);
    odd.phase = Phase::Reloading;
    odd.paused = true;
    odd.reload_error = Some("profile.toml:3:1: unknown field".into());
    odd.drift.pending = vec!["delete address 192.168.20.1/24 dev mv-storage".into()];
    odd.drift.conflict = Some("eth3 missing".into());
    odd.drift.backoff = Some(BackoffStatus {
        streak: 4,
        next_in_ms: 8000,
    });
    odd.last_apply.as_mut().unwrap().outcome = None;
    odd.dhcp[0].state = "declining".into();
    odd.dhcp[0].dropped.insert("other \"client\"\n".into(), 7);
    let health = odd.health.as_mut().unwrap();
    health.networks[2].name = "multus:we\"ird\\name".into();
    health.links[0].operstate = None;
    for s in [status(HEALTHY), status(PULLED), starting, odd] {
        let text = render(&s);
        let lint = promtool(&["check", "metrics"], &text);
        assert!(
            lint.trim().is_empty(),
            "promtool check metrics:\n{lint}\n{text}"
        );
    }
}

#[test]
fn the_example_alerts_check_fire_and_read_the_series_written() {
    let checked = promtool(&["check", "rules", "n3xnet.rules.yml"], "");
    assert!(checked.contains("SUCCESS: 5 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "n3xnet.rules.test.yml"], "");
    assert!(tested.contains("SUCCESS"), "{tested}");

    // The names and labels the rules and their tests use are written.
    let written: BTreeSet<Series> = [HEALTHY, PULLED]
        .into_iter()
        .flat_map(|json| samples(&render(&status(json))).into_keys())
        .collect();
    let names: BTreeSet<&str> = written.iter().map(|(n, _)| n.as_str()).collect();
    let rules = std::fs::read_to_string(Path::new(RULES_DIR).join("n3xnet.rules.yml")).unwrap();
    let used: Vec<&str> = rules
        .match_indices("n3xnet_")
        .map(|(i, _)| {
            let rest = &rules[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    assert!(used.len() >= 8, "{used:?}");
    for name in used {
        assert!(names.contains(name), "the rules use {name}, never written");
    }
    let tests =
        std::fs::read_to_string(Path::new(RULES_DIR).join("n3xnet.rules.test.yml")).unwrap();
    let mut inputs = 0;
    for line in tests.lines() {
        let Some(quoted) = line.trim().strip_prefix("- series: '") else {
            continue;
        };
        let (name, mut labels) = parse_series(quoted.trim_end_matches('\''));
        // Added by the scrape, not by the file.
        labels.remove("instance");
        labels.remove("job");
        assert!(
            written.contains(&(name.clone(), labels.clone())),
            "the rule tests feed {name}{labels:?}, which is never written"
        );
        inputs += 1;
    }
    assert_eq!(inputs, 9);
}

/// `prometheus-node-exporter` with only the textfile collector, on
/// [`LISTEN`] inside a namespace; killed on drop.
struct Exporter {
    child: Child,
    log: PathBuf,
}

impl Exporter {
    fn start(ns: &Netns, textfiles: &Path, log: PathBuf) -> Exporter {
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(tool("prometheus-node-exporter", "prometheus-node-exporter"))
            .arg(format!("--web.listen-address={LISTEN}"))
            .args([
                "--web.disable-exporter-metrics",
                "--collector.disable-defaults",
                "--collector.textfile",
            ])
            .arg(format!(
                "--collector.textfile.directory={}",
                textfiles.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut exporter = Exporter { child, log };
        let answered = wait_until(SETTLE, || {
            scrape(ns).is_ok() || exporter.child.try_wait().unwrap().is_some()
        });
        assert!(
            answered.is_some() && exporter.child.try_wait().unwrap().is_none(),
            "node_exporter is not serving {LISTEN} in {}:\n{}",
            ns.name,
            std::fs::read_to_string(&exporter.log).unwrap_or_default()
        );
        exporter
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /metrics` on [`LISTEN`] inside `ns`: the body of a 200.
fn scrape(ns: &Netns) -> std::io::Result<String> {
    ns.enter(|| {
        let addr: SocketAddr = LISTEN.parse().unwrap();
        let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        c.set_read_timeout(Some(SETTLE))?;
        c.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {LISTEN}\r\n\r\n").as_bytes())?;
        let mut response = String::new();
        c.read_to_string(&mut response)?;
        match response.split_once("\r\n\r\n") {
            Some((head, body)) if head.split(' ').nth(1) == Some("200") => Ok(body.to_owned()),
            _ => Err(std::io::Error::other(format!("not a 200: {response}"))),
        }
    })
}

#[test]
fn node_exporter_serves_the_file_and_follows_a_cable_pull() {
    if !netns_tier() {
        return;
    }
    let ns = Netns::new();
    let work = tempfile::tempdir().unwrap();
    let textfiles = work.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    let mut file = ChangedFile::new(textfiles.join("n3xnet.prom"));
    let healthy = status(HEALTHY);
    assert!(file.publish(render(&healthy)).unwrap());
    let _exporter = Exporter::start(&ns, &textfiles, work.path().join("exporter.log"));

    // Waits until node_exporter serves exactly the samples of `want`, with
    // their HELP and TYPE, and no error reading the directory.
    let serves = |want: &DaemonStatus| {
        let text = render(want);
        let want = samples(&text);
        let mut last = String::new();
        let n3xnet = |scraped: &str| {
            let mut s = samples(scraped);
            s.retain(|(name, _), _| name.starts_with("n3xnet_"));
            s
        };
        let same = wait_until(SETTLE, || {
            last = scrape(&ns).unwrap();
            n3xnet(&last) == want
        });
        assert!(same.is_some(), "node_exporter serves\n{last}\nnot\n{text}");
        for line in text.lines().filter(|l| l.starts_with('#')) {
            assert!(last.lines().any(|l| l == line), "no {line} in\n{last}");
        }
        let all = samples(&last);
        assert_eq!(
            all[&series("node_textfile_scrape_error", &[])],
            0.0,
            "{last}"
        );
        n3xnet(&last)
    };
    let mii = series(
        "n3xnet_bond_port_mii_up",
        &[("bond", "bond0"), ("port", "eth2")],
    );
    let ports_up = series("n3xnet_bond_ports_up", &[("bond", "bond0")]);
    let flaps = series("n3xnet_link_flaps_total", &[("link", "eth2")]);
    let expiry = series(
        "n3xnet_dhcp_lease_expiry_timestamp_seconds",
        &[("link", "eth0")],
    );
    let before = serves(&healthy);
    assert_eq!(
        [before[&mii], before[&ports_up], before[&flaps]],
        [1.0, 2.0, 0.0]
    );
    assert_eq!(before[&expiry], 1_767_229_200.0);

    // eth2's cable pulled, as the daemon reports it.
    let pulled = status(PULLED);
    assert!(file.publish(render(&pulled)).unwrap());
    let after = serves(&pulled);
    assert_eq!(
        [after[&mii], after[&ports_up], after[&flaps]],
        [0.0, 1.0, 1.0]
    );
    assert_eq!(after[&expiry], before[&expiry]);

    // A newer update of the same state: nothing to write.
    let again = DaemonStatus {
        updated_at_ms: pulled.updated_at_ms + 1_000,
        ..pulled.clone()
    };
    assert!(!file.publish(render(&again)).unwrap());
    assert_eq!(serves(&pulled), after);
}

/// End to end: the real `n3xnetd` supervising a node, the real
/// `n3xnet-report` beside it writing `[prometheus] textfile`, and
/// node_exporter serving that file; a cable pull on the switch side shows
/// in the scraped metrics.
#[test]
fn the_daemon_and_reporter_feed_node_exporter_through_a_cable_pull() {
    if !netns_tier() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let textfiles = dir.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    let node = Node::new(&format!(
        "[prometheus]\ntextfile = \"{}\"\n",
        textfiles.join("n3xnet.prom").display()
    ));
    let mut d = Daemon::start(&node);
    let r = Daemon::report(&node);
    d.wait_ready();
    let ns = Netns::new();
    let _exporter = Exporter::start(&ns, &textfiles, dir.path().join("exporter.log"));

    let carrier = series("n3xnet_link_carrier", &[("link", "eth1")]);
    let flaps = series("n3xnet_link_flaps_total", &[("link", "eth1")]);
    let online = series("n3xnet_node_online", &[]);
    // Waits until the scraped samples satisfy `pred`; the samples.
    let scraped = |what: &str, pred: &dyn Fn(&BTreeMap<Series, f64>) -> bool| {
        let mut last = BTreeMap::new();
        let ok = wait_until(SETTLE, || {
            last = scrape(&ns).map(|t| samples(&t)).unwrap_or_default();
            pred(&last)
        });
        assert!(
            ok.is_some(),
            "{what}: never; last scrape: {last:#?}\nreporter log:\n{}",
            r.log()
        );
        last
    };
    let before = scraped("online", &|s| s.get(&online) == Some(&1.0));
    assert_eq!(before[&carrier], 1.0);
    let flaps_before = before[&flaps];

    node.sw.ip("link set sw-eth1 down");
    let after = scraped("the cable pull", &|s| {
        s.get(&carrier) == Some(&0.0) && s.get(&online) == Some(&0.0)
    });
    assert_eq!(after[&flaps], flaps_before + 1.0);
    assert_eq!(after[&series("node_textfile_scrape_error", &[])], 0.0);
    let report = r.wait_status(|s| s["files"][0]["kind"] == "textfile");
    assert!(report["files"][0]["error"].is_null(), "{report:#}");
    assert!(d.running());
}
