//! n3xnet.toml, the daemon's configuration, as `DaemonConfig::load` parses it.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use n3xnet::config::DaemonConfig;

fuzz_target!(|text: &str| {
    let _ = DaemonConfig::parse(text, Path::new("/etc/n3xnet"));
});
