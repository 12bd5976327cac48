//! The offline commands through the real `n3xnetctl` binary: what an
//! operator or an image build runs, compared with the reviewed goldens.

mod ctl_util;
use ctl_util::{ctl, root};

#[test]
fn k3s_flags_are_n3x_byte_for_byte() {
    let (code, out, err) = ctl(&[
        "k3s-flags",
        "-p",
        "profiles/vlans.toml",
        "-n",
        "server-2",
        "--role",
        "server",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "--node-ip=192.168.200.2 --flannel-iface=eth1.200 --advertise-address=192.168.200.2 --tls-san=192.168.200.1\n"
    );
    let (_, out, _) = ctl(&[
        "k3s-flags",
        "-p",
        "profiles/vlans.toml",
        "-n",
        "agent-1",
        "--role",
        "agent",
    ]);
    assert_eq!(out, "--node-ip=192.168.200.3 --flannel-iface=eth1.200\n");
    let (_, out, _) = ctl(&[
        "k3s-flags",
        "-p",
        "profiles/dhcp-simple.toml",
        "-n",
        "agent-1",
        "--role",
        "agent",
    ]);
    assert_eq!(out, "--node-ip=192.168.1.3 --flannel-iface=eth1\n");
    for fmt in ["env", "config"] {
        let (code, out, err) = ctl(&[
            "k3s-flags",
            "-p",
            "profiles/vlans.toml",
            "-n",
            "server-2",
            "--role",
            "server",
            "--format",
            fmt,
        ]);
        assert_eq!(code, 0, "{err}");
        let golden = if fmt == "env" { "env" } else { "config.yaml" };
        let want = std::fs::read_to_string(
            root().join(format!("tests/golden/vlans/server-2/k3s/{golden}")),
        )
        .unwrap();
        assert_eq!(out, want, "{fmt}");
    }
}

#[test]
fn k3s_flags_role_comes_from_the_profile_or_is_required() {
    let (code, out, _) = ctl(&["k3s-flags", "-p", "profiles/n100-bond.toml", "-n", "n100-3"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "--node-ip=10.0.1.13 --flannel-iface=bond0\n")
    );
    let (code, _, err) = ctl(&["k3s-flags", "-p", "profiles/vlans.toml", "-n", "agent-1"]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("--role"), "{err}");
    let (code, _, err) = ctl(&[
        "k3s-flags",
        "-p",
        "profiles/n100-bond.toml",
        "-n",
        "n100-3",
        "--role",
        "server",
    ]);
    assert_eq!(code, 65, "{err}");
    let (code, _, _) = ctl(&[
        "k3s-flags",
        "-p",
        "profiles/vlans.toml",
        "-n",
        "agent-9",
        "--role",
        "agent",
    ]);
    assert_eq!(code, 65);
}

#[test]
fn render_networkd_writes_the_golden_files() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let (code, _, err) = ctl(&[
        "render",
        "networkd",
        "-p",
        "profiles/bonding-vlans.toml",
        "-n",
        "server-1",
        "--out",
        dir,
    ]);
    assert_eq!(code, 0, "{err}");
    let golden = root().join("tests/golden/bonding-vlans/server-1/networkd");
    let mut names: Vec<_> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let mut got: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    got.sort();
    assert_eq!(got, names);
    for n in names {
        assert_eq!(
            std::fs::read_to_string(out.path().join(&n)).unwrap(),
            std::fs::read_to_string(golden.join(&n)).unwrap(),
            "{n:?}"
        );
    }
}

#[test]
fn render_multus_and_desired() {
    let (code, out, err) = ctl(&["render", "multus", "-p", "profiles/n100-bond.toml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        std::fs::read_to_string(root().join("tests/golden/n100-bond/multus.yaml")).unwrap()
    );
    let (code, out, err) = ctl(&[
        "render",
        "desired",
        "-p",
        "profiles/bonding-vlans.toml",
        "-n",
        "server-1",
    ]);
    assert_eq!(code, 0, "{err}");
    let golden =
        std::fs::read_to_string(root().join("tests/golden/desired/bonding-vlans.server-1.json"))
            .unwrap();
    assert_eq!(out, golden);
}
