# NixOS VM test (flake check `vm-bonding-vlans`): one node, server-1 of the bonding-vlans
# profile, with n3xnetd as its only network manager.
#
# NOT RUN where n3xnet's own CI runs: it needs nixpkgs (pkgs.testers.runNixOSTest) and KVM,
# neither reachable there. Run it on a machine with Nix and nixpkgs:
#   nix build .#checks.x86_64-linux.vm-bonding-vlans -L
# What runs in CI instead: tests/nixos_module.rs evaluates the same module against stub
# NixOS options with nixpkgs' lib.
{ self }:
{
  name = "n3xnet-bonding-vlans";

  nodes.server =
    { ... }:
    {
      imports = [ self.nixosModules.default ];

      # Two NICs for the bond. virtualisation.interfaces with assignIP = false (its default),
      # NOT virtualisation.vlans: that one gives each NIC 192.168.<vlan>.<n>/24 through
      # networking.interfaces, which would be a foreign address on a bond port (and the
      # module's assertion rejects it).
      virtualisation.interfaces = {
        eth1.vlan = 1;
        eth2.vlan = 2;
      };

      services.n3xnet = {
        enable = true;
        profileFile = ../../profiles/bonding-vlans.toml;
        node = "server-1";
        role = "server";
        # No k3s here: no Node object to report on.
        settings.kubernetes.enable = false;
      };
    };

  testScript = ''
    server.start()
    server.wait_for_unit("n3xnetd.service")
    server.wait_for_unit("n3xnet-wait-online.service")
    server.wait_for_unit("network-online.target")
    # The unprivileged reporter, started with n3xnetd (no k3s here: it waits for the
    # kubeconfig, active all the same).
    server.wait_for_unit("n3xnet-report.service")

    with subtest("bond0: active-backup on eth1 and eth2, eth1 active"):
        server.succeed("grep -q 'Bonding Mode: fault-tolerance (active-backup)' /proc/net/bonding/bond0")
        server.succeed("grep -q 'Currently Active Slave: eth1' /proc/net/bonding/bond0")
        server.succeed("test $(grep -c '^Slave Interface:' /proc/net/bonding/bond0) -eq 2")
        server.succeed("ip -o link show eth1 | grep -q 'master bond0'")
        server.succeed("ip -o link show eth2 | grep -q 'master bond0'")

    with subtest("bond0.200 is VLAN 200 with 192.168.200.1/24, bond0.100 has 192.168.100.1/24"):
        server.succeed("ip -d link show bond0.200 | grep -q 'vlan protocol 802.1Q id 200'")
        server.succeed("ip -4 -o addr show dev bond0.200 | grep -q 'inet 192.168.200.1/24'")
        server.succeed("ip -4 -o addr show dev bond0.100 | grep -q 'inet 192.168.100.1/24'")
        server.succeed("ip route show 192.168.200.0/24 | grep -q 'dev bond0.200'")

    with subtest("n3xnet is the network manager: networkd and dhcpcd are not running"):
        server.fail("systemctl is-active systemd-networkd.service")
        server.fail("systemctl is-active dhcpcd.service")
        server.succeed("systemctl is-active n3xnet-wait-online.service")
        server.succeed("n3xnetctl check -p /etc/n3xnet/profile.toml -n server-1")

    with subtest("failover: eth1 down makes eth2 active, the bond stays up"):
        server.succeed("ip link set eth1 down")
        server.wait_until_succeeds("grep -q 'Currently Active Slave: eth2' /proc/net/bonding/bond0", timeout=5)
        server.succeed("ip -4 -o addr show dev bond0.200 | grep -q 'inet 192.168.200.1/24'")
  '';
}
