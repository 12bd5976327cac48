# Evaluates nix/module.nix against tests/nix/stubs.nix with nixpkgs' lib alone, for one
# profile and node; returns what tests/nixos_module.rs checks, as JSON:
#
#   nix-instantiate --eval --strict --json tests/nix/eval.nix \
#     --argstr vendor ../shared/vendor --argstr n3xProfile bonding-vlans --argstr node server-1
#
# Profile sources (exactly one, unless testing that assertion):
#   n3xProfile  = "<name>": n3x's lib/network/profiles/<name>.nix (from the vendor dir), given
#                 as services.n3xnet.profile, next to n3x's own mkNixOSConfig module for it
#   tomlProfile = "/abs/file.toml": a TOML profile read with builtins.fromTOML, given as profile
#   profileFile = "/abs/file": given as services.n3xnet.profileFile (a Nix path)
# More: node, k3sRole (enables services.k3s with that role), n3xnet (more services.n3xnet
# definitions, a Nix expression via --arg), extra (one more module, via --arg).
#
# Failed assertions throw "Failed assertions:" and their messages, as NixOS does.
{
  vendor,
  n3xProfile ? null,
  tomlProfile ? null,
  profileFile ? null,
  node ? null,
  k3sRole ? null,
  n3xnet ? { },
  extra ? { },
}:

let
  lib = import (/. + vendor + "/nixpkgs-lib/lib");
  n3xLib = /. + vendor + "/n3x/lib";
  profile =
    if n3xProfile != null then
      import (n3xLib + "/network/profiles/${n3xProfile}.nix") { inherit lib; }
    else if tomlProfile != null then
      builtins.fromTOML (builtins.readFile (/. + tomlProfile))
    else
      null;

  # n3x's common networking module today (backends/nixos/modules/common/networking.nix),
  # and more: everything n3xnet replaces turned on at normal priority.
  networkdOn = {
    systemd.network.enable = true;
    networking.useNetworkd = true;
    networking.useDHCP = true;
    networking.dhcpcd.enable = true;
    networking.networkmanager.enable = true;
    systemd.network.wait-online = {
      anyInterface = true;
      timeout = 60;
    };
  };

  # n3x's own NixOS network generator for the profile (sets networkd files, boot modules).
  n3xGenerator =
    if n3xProfile != null && profile ? ipAddresses && node != null && profile.ipAddresses ? ${node} then
      (import (n3xLib + "/network/mk-network-config.nix") { inherit lib; }).mkNixOSConfig {
        nodes = profile.ipAddresses;
        interfaces = profile.interfaces;
        vlanIds = profile.vlanIds or null;
        bondConfig =
          if profile ? bondConfig then
            profile.bondConfig // { members = profile.interfaces.bondMembers or [ "eth1" "eth2" ]; }
          else
            null;
      } node
    else
      { };

  eval = lib.evalModules {
    modules = [
      ./stubs.nix
      ../../nix/module.nix
      networkdOn
      n3xGenerator
      extra
      {
        services.n3xnet = lib.mkMerge [
          (
            {
              enable = true;
            }
            // lib.optionalAttrs (profile != null) { inherit profile; }
            // lib.optionalAttrs (profileFile != null) { profileFile = /. + profileFile; }
            // lib.optionalAttrs (node != null) { inherit node; }
          )
          n3xnet
        ];
      }
      (lib.optionalAttrs (k3sRole != null) {
        services.k3s = {
          enable = true;
          role = k3sRole;
        };
      })
    ];
  };
  c = eval.config;
  failed = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions);
  # Paths as strings: toJSON would copy them into the store.
  plain = v: if builtins.isPath v then toString v else v;
  pkgName = p: p.name or (toString p);

  result = {
    etc = lib.mapAttrs (_: e: {
      text = e.text;
      source = plain e.source;
    }) c.environment.etc;
    config = c.environment.etc."n3xnet/n3xnet.toml".source.value;
    services = lib.mapAttrs (
      _: s: s // { reloadTriggers = map plain (s.reloadTriggers or [ ]); }
    ) c.systemd.services;
    systemdPackages = map pkgName c.systemd.packages;
    dbusPackages = map pkgName c.services.dbus.packages;
    systemPackages = map pkgName c.environment.systemPackages;
    package = "${c.services.n3xnet.package}";
    kernelModules = c.boot.kernelModules;
    extraModprobeConfig = c.boot.extraModprobeConfig;
    managedLinks = c.services.n3xnet.managedLinks;
    off = {
      systemdNetwork = c.systemd.network.enable;
      useNetworkd = c.networking.useNetworkd;
      useDHCP = c.networking.useDHCP;
      dhcpcd = c.networking.dhcpcd.enable;
      networkmanager = c.networking.networkmanager.enable;
    };
    # What n3x's generator contributed (shows it was in the evaluation).
    n3xNetworkdFiles = builtins.attrNames c.systemd.network.networks ++ builtins.attrNames c.systemd.network.netdevs;
    warnings = c.warnings;
  };
in
if failed != [ ] then
  throw "Failed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failed}"
else
  result
