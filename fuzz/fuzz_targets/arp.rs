//! An ARP packet read while probing an acknowledged address. The first 10
//! bytes are our MAC and the probed address, so the fuzzer can match them.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use n3xnet::dhcp::arp;

fuzz_target!(|data: &[u8]| {
    if let Some((ours, packet)) = data.split_first_chunk::<10>() {
        let mac = [ours[0], ours[1], ours[2], ours[3], ours[4], ours[5]];
        let ip = Ipv4Addr::new(ours[6], ours[7], ours[8], ours[9]);
        let _ = arp::holder(packet, mac, ip);
    }
});
