//! An IPv4 datagram from the packet socket: the IP/UDP checks, then the DHCP
//! message inside, as the client's receive path chains them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use n3xnet::dhcp::{frame, packet};

fuzz_target!(|datagram: &[u8]| {
    if let Ok(payload) = frame::unwrap(datagram) {
        let _ = packet::parse(payload);
    }
});
