//! `status --watch`: n3xnetd's health now and on every change, from its
//! `HealthChanged` signal.

use futures::StreamExt as _;
use tokio::signal::unix::{signal, SignalKind};

use super::daemon::clock;
use super::daemon_status;
use crate::cli::{daemon, Failure};
use crate::clock::now_ms;
use crate::exit;
use crate::health::Health;

/// Prints the daemon's health now, then on every `HealthChanged`, until
/// SIGINT or SIGTERM. A daemon that leaves the bus is waited for (said on
/// stderr); when it is back its health is printed again.
pub async fn watch(netns: Option<&str>, json: bool) -> Result<(), Failure> {
    let proxy = daemon::connect().await?;
    // Subscribed before reading the current health: no change is missed.
    let mut changes = proxy.receive_health_changed().await?;
    let mut owners = proxy.inner().receive_owner_changed().await?;
    let status = daemon_status(netns).await?;
    print_health(status.health.as_ref(), json);
    let signal_failure = |e: std::io::Error| Failure {
        code: exit::SOFTWARE,
        message: format!("cannot install a signal handler: {e}"),
    };
    let mut term = signal(SignalKind::terminate()).map_err(signal_failure)?;
    let mut int = signal(SignalKind::interrupt()).map_err(signal_failure)?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            owner = owners.next() => match owner {
                Some(None) => eprintln!("n3xnetctl status: n3xnetd left the bus; waiting for it"),
                Some(Some(_)) => {
                    eprintln!("n3xnetctl status: n3xnetd is back");
                    print_health(daemon_status(netns).await?.health.as_ref(), json);
                }
                None => return Err(closed()),
            },
            change = changes.next() => {
                let Some(change) = change else {
                    return Err(closed());
                };
                let args = change.args()?;
                let health: Option<Health> = serde_json::from_str(args.health_json()).map_err(|e| {
                    Failure::new(exit::IO, format!("n3xnetd sent a health this n3xnetctl cannot read: {e}"))
                })?;
                print_health(health.as_ref(), json);
            }
        }
    }
}

fn closed() -> Failure {
    Failure::new(exit::IO, "the D-Bus connection closed")
}

/// One line: the health JSON, or the time and the summary. Nothing before
/// the daemon's first read of the kernel: its `HealthChanged` follows.
fn print_health(health: Option<&Health>, json: bool) {
    let Some(health) = health else {
        return;
    };
    if json {
        match serde_json::to_string(health) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("n3xnetctl status: cannot encode JSON: {e}"),
        }
    } else {
        println!("{} {}", clock(now_ms()), health.summary);
    }
}
