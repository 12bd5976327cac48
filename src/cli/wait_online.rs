//! `n3xnetctl wait-online`: block until n3xnetd says the node is online, so
//! units ordered `After=network-online.target` (k3s) start only then — the
//! role systemd-networkd-wait-online plays for systemd-networkd.
//!
//! The daemon's word is its status file (`<runtime dir>/status.json`,
//! replaced atomically on every change): online means `ready` (READY=1 was
//! sent) and the health's online set holding — `ready` alone is not
//! enough, because the daemon also becomes ready when its own
//! `online.timeout` passes. The file is watched with inotify, so nothing
//! polls: the command sleeps until the file (or the directory, when the
//! daemon has not started yet or has stopped) changes, or the timeout
//! passes. On timeout it names what blocks: the required networks that are
//! down with the health model's reason, or why there is no usable status.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Failure;
use crate::api::status::{
    DaemonStatus, Phase, DEFAULT_RUNTIME_DIR, STATUS_FILE, STATUS_SCHEMA_VERSION,
};
use crate::exit;
use crate::files::DirWatch;

/// Exit status when the node is not online before the timeout (as
/// systemd-networkd-wait-online: the unit fails, dependents do not start).
pub const NOT_ONLINE: u8 = exit::DRIFT_OR_FAILED;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Give up after SECS seconds (0: wait forever).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
    /// n3xnetd's runtime directory (where its status.json is).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_RUNTIME_DIR)]
    pub runtime_dir: PathBuf,
}

/// Whether the node is online, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// The health summary.
    Online(String),
    Waiting(String),
}

/// Judges the status file's content (`Err`: why it could not be read).
/// `alive` says whether a pid still runs: a daemon killed without cleanup
/// leaves a file that may still say online.
pub fn judge(content: Result<&str, String>, alive: impl Fn(u32) -> bool) -> Readiness {
    let text = match content {
        Ok(t) => t,
        Err(why) => return Readiness::Waiting(why),
    };
    let st: DaemonStatus = match serde_json::from_str(text) {
        Ok(s) => s,
        Err(e) => return Readiness::Waiting(format!("unreadable status: {e}")),
    };
    if st.schema_version != STATUS_SCHEMA_VERSION {
        return Readiness::Waiting(format!(
            "status schema {} is not {STATUS_SCHEMA_VERSION}: n3xnetctl and n3xnetd differ in \
             version",
            st.schema_version
        ));
    }
    if st.phase == Phase::Stopped {
        return Readiness::Waiting(format!("n3xnetd has stopped: {}", st.status));
    }
    if !alive(st.pid) {
        return Readiness::Waiting(format!("n3xnetd (pid {}) is gone", st.pid));
    }
    if !st.ready {
        return Readiness::Waiting(format!("n3xnetd is starting: {}", st.status));
    }
    let Some(health) = st.health else {
        return Readiness::Waiting(format!("n3xnetd has no health yet: {}", st.status));
    };
    if health.online {
        return Readiness::Online(health.summary);
    }
    let blocking: Vec<String> = health
        .blocking()
        .map(|n| {
            let reason = n.reason.as_deref().map(|r| format!(": {r}"));
            format!(
                "{} ({}) {}{}",
                n.name,
                n.link,
                n.level.as_str(),
                reason.unwrap_or_default()
            )
        })
        .collect();
    Readiness::Waiting(if blocking.is_empty() {
        // online.require names a network this node does not have.
        format!(
            "the online set is not met ({}); check online.require",
            health.summary
        )
    } else {
        format!("blocked by {}", blocking.join("; "))
    })
}

/// Reads and judges `<dir>/status.json` now.
pub fn check(dir: &Path) -> Readiness {
    let path = dir.join(STATUS_FILE);
    let content = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        ErrorKind::NotFound if !dir.exists() => {
            format!("n3xnetd is not running ({} does not exist)", dir.display())
        }
        ErrorKind::NotFound => format!("n3xnetd has not written {} yet", path.display()),
        _ => format!("cannot read {}: {e}", path.display()),
    });
    judge(content.as_deref().map_err(Clone::clone), |pid| {
        Path::new("/proc").join(pid.to_string()).exists()
    })
}

/// Waits for the online verdict or the deadline; the last verdict.
pub fn wait(dir: &Path, timeout: Option<Duration>) -> std::io::Result<Readiness> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut watcher = DirWatch::new()?;
    let mut last: Option<Readiness> = None;
    loop {
        watcher.arm(dir)?;
        let verdict = check(dir);
        if let Readiness::Online(_) = verdict {
            return Ok(verdict);
        }
        if last.as_ref() != Some(&verdict) {
            if let Readiness::Waiting(why) = &verdict {
                // The journal of the wait-online unit shows the progress.
                eprintln!("n3xnetctl wait-online: waiting: {why}");
            }
            last = Some(verdict.clone());
        }
        if !watcher.wait(deadline)? {
            // One last look: the change may have landed with the deadline.
            watcher.arm(dir)?;
            return Ok(check(dir));
        }
    }
}

pub fn run(a: &Args) -> Result<u8, Failure> {
    let timeout = (a.timeout > 0).then(|| Duration::from_secs(a.timeout));
    let readiness = wait(&a.runtime_dir, timeout).map_err(|e| {
        Failure::new(
            exit::IO,
            format!("cannot watch {}: {e}", a.runtime_dir.display()),
        )
    })?;
    match readiness {
        Readiness::Online(summary) => {
            println!("{summary}");
            Ok(exit::OK)
        }
        Readiness::Waiting(why) => Err(Failure::new(
            NOT_ONLINE,
            format!("not online after {}s: {why}", a.timeout),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(ready: bool, phase: &str, online: bool, reason: Option<&str>) -> String {
        let health = serde_json::json!({
            "node": "server-1", "level": if online { "ok" } else { "down" },
            "online": online, "summary": "the summary", "links": [], "bonds": [],
            "networks": [{"name": "cluster", "kind": "cluster", "link": "bond0.200",
                          "required": true, "level": if online { "ok" } else { "down" },
                          "reason": reason}],
        });
        let st = DaemonStatus {
            schema_version: STATUS_SCHEMA_VERSION,
            pid: 42,
            phase: serde_json::from_value(phase.into()).unwrap(),
            ready,
            status: "the STATUS line".into(),
            health: Some(serde_json::from_value(health).unwrap()),
            ..DaemonStatus::default()
        };
        serde_json::to_string(&st).unwrap()
    }

    #[test]
    fn online_only_when_ready_and_the_online_set_holds() {
        let alive = |_| true;
        assert_eq!(
            judge(Ok(&status(true, "running", true, None)), alive),
            Readiness::Online("the summary".into())
        );
        assert_eq!(
            judge(
                Ok(&status(true, "running", false, Some("bond0: eth1 down"))),
                alive
            ),
            Readiness::Waiting("blocked by cluster (bond0.200) down: bond0: eth1 down".into())
        );
        assert_eq!(
            judge(Ok(&status(false, "starting", true, None)), alive),
            Readiness::Waiting("n3xnetd is starting: the STATUS line".into())
        );
    }

    #[test]
    fn a_stopped_or_dead_daemon_is_not_online() {
        let st = status(true, "running", true, None);
        assert_eq!(
            judge(Ok(&st), |_| false),
            Readiness::Waiting("n3xnetd (pid 42) is gone".into())
        );
        assert!(matches!(
            judge(Ok(&status(true, "stopped", true, None)), |_| true),
            Readiness::Waiting(w) if w.starts_with("n3xnetd has stopped")
        ));
        assert!(matches!(
            judge(Ok("{\"pid\": 1"), |_| true),
            Readiness::Waiting(w) if w.starts_with("unreadable status")
        ));
        let newer = st.replace("\"schemaVersion\":1", "\"schemaVersion\":2");
        assert!(matches!(
            judge(Ok(&newer), |_| true),
            Readiness::Waiting(w) if w.starts_with("status schema 2 is not 1")
        ));
    }
}
