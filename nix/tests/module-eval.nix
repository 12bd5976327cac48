# Flake check `module-eval`: the module in a real NixOS evaluation (nixpkgs' own option
# types, unit generation, pkgs.formats.toml, the /etc builder), over a module that turns
# systemd-networkd on as n3x's common networking module does. The generated profile and
# n3xnet.toml are then checked by n3xnet itself.
#
# NOT RUN where n3xnet's own CI runs (no nixpkgs there): `nix build .#checks.x86_64-linux.module-eval`.
# CI runs tests/nixos_module.rs instead (the same module against stub options).
{
  self,
  nixpkgs,
  pkgs,
}:
let
  nixos = nixpkgs.lib.nixosSystem {
    modules = [
      self.nixosModules.default
      {
        nixpkgs.hostPlatform = "x86_64-linux";
        system.stateVersion = "25.11";
        boot.loader.grub.enable = false;
        fileSystems."/" = {
          device = "none";
          fsType = "tmpfs";
        };
        networking.hostName = "n100-1";
        # n3x's backends/nixos/modules/common/networking.nix
        systemd.network.enable = true;
        networking.useNetworkd = true;
        networking.useDHCP = false;

        services.n3xnet = {
          enable = true;
          profileFile = ../../profiles/bonding-vlans.toml;
          node = "server-1";
          role = "server";
          settings.online.require = [
            "cluster"
            "storage"
          ];
        };
      }
    ];
  };
  c = nixos.config;
  pkg = c.services.n3xnet.package;
  etc = c.environment.etc;
  failed = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions);
  expect = what: ok: if ok then true else throw "module-eval: ${what}";
in
assert expect "assertions hold: ${toString failed}" (failed == [ ]);
assert expect "systemd-networkd off" (!c.systemd.network.enable && !c.networking.useNetworkd);
assert expect "dhcpcd and NetworkManager off" (
  !c.networking.dhcpcd.enable && !c.networking.networkmanager.enable
);
assert expect "n3xnetd wanted by multi-user.target" (
  builtins.elem "multi-user.target" c.systemd.services.n3xnetd.wantedBy
);
assert expect "n3xnet-report wanted by n3xnetd.service" (
  builtins.elem "n3xnetd.service" c.systemd.services.n3xnet-report.wantedBy
);
assert expect "wait-online required by network-online.target" (
  builtins.elem "network-online.target" c.systemd.services.n3xnet-wait-online.requiredBy
);
assert expect "bonding and 8021q loaded" (
  builtins.all (m: builtins.elem m c.boot.kernelModules) [
    "bonding"
    "8021q"
  ]
);
pkgs.runCommand "n3xnet-module-eval" { nativeBuildInputs = [ pkg ]; } ''
  set -euxo pipefail
  mkdir -p etc
  cp ${etc."n3xnet/profile.toml".source} etc/profile.toml
  n3xnetctl validate --node server-1 etc/profile.toml
  sed "s|/etc/n3xnet/|$PWD/etc/|" ${etc."n3xnet/n3xnet.toml".source} > etc/n3xnet.toml
  cat etc/n3xnet.toml
  # The daemon's own start-up checks (configuration, profile, node, role, online.require)
  # pass when it gets as far as the (missing) network namespace: 66, not 65.
  rc=0; n3xnetd --config etc/n3xnet.toml --netns n3xnet-module-eval-missing 2> err || rc=$?
  cat err
  test "$rc" = 66
  grep -q 'n3xnet-module-eval-missing' err

  # The units: the package's (store paths), with the module's drop-ins.
  grep -rq 'ExecStart=${pkg}/bin/n3xnetd --config /etc/n3xnet/n3xnet.toml' ${c.systemd.units."n3xnetd.service".unit}
  grep -rq 'ExecStart=${pkg}/bin/n3xnetctl wait-online --timeout 120' ${
    c.systemd.units."n3xnet-wait-online.service".unit
  }
  grep -rq 'ExecStart=${pkg}/bin/n3xnet-report --config /etc/n3xnet/n3xnet.toml' ${
    c.systemd.units."n3xnet-report.service".unit
  }
  grep -rq 'ExecReload=.*/bin/kill -HUP' ${pkg}/lib/systemd/system/n3xnetd.service
  if grep -rnE '=/usr/s?bin/|=/bin/kill' ${pkg}/lib/systemd/system/; then exit 1; fi
  test -e ${pkg}/share/dbus-1/system.d/io.n3x.Net1.conf
  touch $out
''
