//! A DHCP message from the wire (the UDP payload) as the client reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use n3xnet::dhcp::packet;

fuzz_target!(|payload: &[u8]| {
    let _ = packet::parse(payload);
});
