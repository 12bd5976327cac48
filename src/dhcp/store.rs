//! The lease file: `<state dir>/dhcp-<link>.json`, so that a restarted
//! daemon picks its lease up again instead of dropping the address.
//!
//! The state machine's clock is monotonic and starts anew with each
//! process; the file holds the wall-clock time the lease was granted, and
//! [`Store::load`] maps it back onto the new process's clock.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::client::{Lease, Millis};
use crate::files::{write_atomic, Durability};
use crate::mac::MacAddr;

const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the lease file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the lease file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("lease file {} is not a lease: {source}", path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    version: u32,
    /// The NIC the lease was granted to; another MAC's lease is not ours.
    mac: MacAddr,
    /// `acquired` in milliseconds since the Unix epoch.
    lease: Lease,
}

/// One link's lease file.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

/// A point in time on both clocks: the state machine's and the wall's.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    pub now: Millis,
    pub unix_ms: Millis,
}

impl Store {
    pub fn new(dir: &Path, link: &str) -> Store {
        Store {
            path: dir.join(format!("dhcp-{link}.json")),
        }
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved lease of `mac`, on the caller's clock; `None` when there
    /// is none or it belongs to another MAC.
    pub fn load(&self, mac: [u8; 6], at: Clocks) -> Result<Option<Lease>, StoreError> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let file: File = serde_json::from_slice(&text).map_err(|source| StoreError::Invalid {
            path: self.path.clone(),
            source,
        })?;
        if file.version != VERSION || file.mac != MacAddr(mac) {
            return Ok(None);
        }
        let mut lease = file.lease;
        lease.acquired = lease
            .acquired
            .saturating_sub(at.unix_ms)
            .saturating_add(at.now);
        Ok(Some(lease))
    }

    /// Writes `lease` (on the caller's clock) atomically.
    pub fn save(&self, mac: [u8; 6], lease: &Lease, at: Clocks) -> Result<(), StoreError> {
        let mut lease = lease.clone();
        lease.acquired = lease
            .acquired
            .saturating_sub(at.now)
            .saturating_add(at.unix_ms);
        let file = File {
            version: VERSION,
            mac: MacAddr(mac),
            lease,
        };
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let json = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
            write_atomic(&self.path, &json, Durability::Durable)
        };
        write().map_err(|source| StoreError::Write {
            path: self.path.clone(),
            source,
        })
    }

    pub fn forget(&self) -> Result<(), StoreError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Write {
                path: self.path.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0, 1, 1, 3];

    fn lease(acquired: Millis) -> Lease {
        Lease {
            address: "192.168.1.3/24".parse().unwrap(),
            server: "192.168.1.254".parse().unwrap(),
            server_mac: MacAddr([0x52, 0x54, 0, 1, 1, 0]),
            router: None,
            lease_secs: 120,
            t1_secs: 5,
            t2_secs: 8,
            acquired,
        }
    }

    #[test]
    fn a_saved_lease_comes_back_on_the_next_process_clock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(&dir.path().join("sub"), "eth1");
        assert_eq!(
            store.load(MAC, Clocks { now: 0, unix_ms: 0 }).unwrap(),
            None
        );
        // Granted at t=10 s of the first process, at wall time 1_000_010 s.
        let first = Clocks {
            now: 20_000,
            unix_ms: 1_000_020_000,
        };
        store.save(MAC, &lease(10_000), first).unwrap();
        // The next process starts its clock at 0, 30 s of wall time later.
        let second = Clocks {
            now: 0,
            unix_ms: 1_000_050_000,
        };
        let back = store.load(MAC, second).unwrap().unwrap();
        assert_eq!(back, lease(-40_000));
        assert_eq!(back.remaining_secs(0), 80);
        // Another NIC's lease is not ours.
        assert_eq!(store.load([0; 6], second).unwrap(), None);
        store.forget().unwrap();
        store.forget().unwrap();
        assert_eq!(store.load(MAC, second).unwrap(), None);
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "eth1");
        std::fs::write(store.path(), "{").unwrap();
        let e = store.load(MAC, Clocks { now: 0, unix_ms: 0 }).unwrap_err();
        assert!(e.to_string().contains("dhcp-eth1.json"), "{e}");
    }
}
