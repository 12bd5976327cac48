//! The profile loader on TOML text: syntax, decode and validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use n3xnet::profile::{parse, Format};

fuzz_target!(|text: &str| {
    let _ = parse(text, Format::Toml);
});
