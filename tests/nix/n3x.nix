# n3x's own files, evaluated as n3x evaluates them: builtins.toJSON of each network profile
# and mkExtraFlags (lib/k3s/mk-k3s-flags.nix) for every node and role. tests/nixos_module.rs
# compares them with tests/n3x-json/*.json and `n3xnetctl k3s-flags --format args`.
#   nix-instantiate --eval --strict --json tests/nix/n3x.nix --argstr vendor ../shared/vendor
{ vendor }:
let
  lib = import (/. + vendor + "/nixpkgs-lib/lib");
  n3x = /. + vendor + "/n3x/lib";
  names = [
    "simple"
    "vlans"
    "bonding-vlans"
    "dhcp-simple"
  ];
  profile = name: import (n3x + "/network/profiles/${name}.nix") { inherit lib; };
  flags = import (n3x + "/k3s/mk-k3s-flags.nix") { inherit lib; };
in
{
  profiles = lib.genAttrs names (name: builtins.toJSON (profile name));
  k3sFlags = lib.genAttrs names (
    name:
    let
      p = profile name;
    in
    lib.genAttrs (builtins.attrNames p.ipAddresses) (
      nodeName:
      lib.genAttrs [ "server" "agent" ] (
        role:
        flags.mkExtraFlags {
          profile = p;
          inherit nodeName role;
        }
      )
    )
  );
}
