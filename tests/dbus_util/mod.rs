//! A private `dbus-daemon` configured like the system bus (default deny of
//! method calls and name ownership) plus our policy file
//! `systemd/dbus-1/system.d/io.n3x.Net1.conf`, for tests that run the real
//! n3xnetd on a bus (`DBUS_SYSTEM_BUS_ADDRESS`) and `n3xnetctl` against it.
#![allow(dead_code)] // each test crate uses a different part of it

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::daemon_util::{wait_until, Daemon, SETTLE};

/// The policy file under test.
const POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/systemd/dbus-1/system.d/io.n3x.Net1.conf"
);

/// A private bus with the system bus's default policy and ours; killed on
/// drop.
pub struct Bus {
    child: Child,
    /// The directory of the socket and the configuration, when the bus
    /// owns it (deleted after the bus is killed, on drop).
    dir: Option<tempfile::TempDir>,
    socket: PathBuf,
    pub address: String,
}

impl Bus {
    pub fn start() -> Bus {
        let dir = tempfile::Builder::new()
            .prefix("n3xnet-bus")
            .tempdir()
            .unwrap();
        // nobody must reach the socket.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = dir.path().join("system_bus_socket");
        let mut bus = Bus::start_at(&socket);
        bus.dir = Some(dir);
        bus
    }

    /// A bus listening on `socket`, whose directory the caller keeps.
    pub fn start_at(socket: &Path) -> Bus {
        let config = socket.with_extension("conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
  </policy>
  <include>{POLICY}</include>
</busconfig>
"#,
                socket = socket.display()
            ),
        )
        .unwrap();
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Its complaints (no fd limit to raise, denied calls) are expected.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus; scripts/install-deps base)");
        assert!(
            wait_until(SETTLE, || socket.exists()).is_some(),
            "dbus-daemon never listened"
        );
        Bus {
            child,
            dir: None,
            socket: socket.to_owned(),
            address: format!("unix:path={}", socket.display()),
        }
    }

    pub fn env(&self) -> [(&str, &str); 1] {
        [("DBUS_SYSTEM_BUS_ADDRESS", &self.address)]
    }

    /// `busctl get-property` of io.n3x.Net1 (as root).
    pub fn property(&self, name: &str) -> Option<Value> {
        let out = Command::new("busctl")
            .arg(format!("--address={}", self.address))
            .args(["--json=short", "get-property"])
            .args(["io.n3x.Net1", "/io/n3x/Net1", "io.n3x.Net1", name])
            .output()
            .unwrap();
        if !out.status.success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        Some(v["data"].clone())
    }

    /// Waits until the daemon owns the name and serves its object.
    pub fn wait_daemon(&self, d: &Daemon) {
        assert!(
            wait_until(SETTLE, || self.property("State").is_some()).is_some(),
            "n3xnetd never appeared on the bus; log:\n{}",
            d.log()
        );
    }

    /// `n3xnetctl ARGS` on this bus, as root.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.ctl_cmd(args, false).output().unwrap()
    }

    /// `n3xnetctl ARGS` on this bus as nobody (uid/gid 65534, no groups).
    pub fn ctl_nobody(&self, args: &[&str]) -> Output {
        self.ctl_cmd(args, true).output().unwrap()
    }

    pub fn ctl_cmd(&self, args: &[&str], nobody: bool) -> Command {
        let mut cmd = if nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_n3xnetctl"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_n3xnetctl"))
        };
        cmd.args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .stdin(Stdio::null());
        cmd
    }
}

impl Bus {
    /// SIGTERM, as systemd stops it: the bus removes its socket.
    pub fn stop(mut self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        self.child.wait().unwrap();
        assert!(
            wait_until(SETTLE, || !self.socket.exists()).is_some(),
            "the bus left its socket"
        );
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
