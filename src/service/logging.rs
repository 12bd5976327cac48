//! Logging: structured tracing events to the journal under systemd (fields
//! `LINK`, `BOND`, `OP`, `NETWORK`, ... searchable with `journalctl
//! LINK=eth1`), to stderr otherwise. `RUST_LOG` filters (default `info`)
//! with its target syntax: `debug`, `info,n3xnet::netlink=debug`. The
//! span/field/regex forms of `EnvFilter` are left out on purpose: the regex
//! engine alone was a quarter of the binary, and of the idle RSS.

use std::os::fd::AsFd;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber for the program `name` (its journal
/// identifier and the prefix of its own complaints). Called once, first
/// thing.
pub fn init(name: &str) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) => spec.parse().unwrap_or_else(|e| {
            eprintln!("{name}: RUST_LOG={spec:?} is not a valid filter ({e}); logging at info");
            info()
        }),
        Err(_) => info(),
    };
    if stderr_is_journal() {
        match tracing_journald::layer() {
            Ok(layer) => {
                // Plain field names (LINK=, not F_LINK=) and our own name.
                let layer = layer
                    .with_field_prefix(None)
                    .with_syslog_identifier(name.to_owned());
                tracing_subscriber::registry()
                    .with(filter)
                    .with(layer)
                    .init();
                return;
            }
            Err(e) => eprintln!("{name}: cannot log to the journal ({e}); logging to stderr"),
        }
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .init();
}

fn info() -> Targets {
    Targets::new().with_default(tracing::Level::INFO)
}

/// `JOURNAL_STREAM` names stderr's device and inode when systemd connected
/// stderr to the journal. It is inherited by children whose stderr goes
/// elsewhere, so it only counts when it matches stderr (systemd.exec(5)).
fn stderr_is_journal() -> bool {
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.split_once(':') else {
        return false;
    };
    let Ok(st) = nix::sys::stat::fstat(std::io::stderr().as_fd()) else {
        return false;
    };
    dev.parse() == Ok(st.st_dev) && ino.parse() == Ok(st.st_ino)
}
