# Stand-ins for the NixOS options nix/module.nix reads or sets, loosely typed, so the real
# module evaluates with nothing but nixpkgs' lib (no nixpkgs checkout exists where the tests
# run). Each option merges as NixOS's does where that matters to the tests: lists
# concatenate, mkForce beats a plain definition, attrsOf pushes mkIf down to the entries.
# Not modelled: unit files (systemd.services → unit text), pkgs.formats.toml's output, the
# /etc builder; the flake's checks evaluate those with real nixpkgs.
{ lib, ... }:

let
  inherit (lib) mkOption types;
  anyAttrs = mkOption {
    type = types.attrsOf types.anything;
    default = { };
  };
  bool = default: mkOption {
    type = types.bool;
    inherit default;
  };
  list = mkOption {
    type = types.listOf types.anything;
    default = [ ];
  };
  # A derivation-like value: interpolates to its outPath, as a package does.
  fakeDrv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
in
{
  options = {
    assertions = list;
    warnings = list;

    environment.etc = mkOption {
      type = types.attrsOf (
        types.submodule {
          options = {
            text = mkOption {
              type = types.nullOr types.lines;
              default = null;
            };
            source = mkOption {
              type = types.nullOr types.anything;
              default = null;
            };
          };
        }
      );
      default = { };
    };
    environment.systemPackages = list;

    systemd.packages = list;
    systemd.services = mkOption {
      type = types.attrsOf (types.attrsOf types.anything);
      default = { };
    };
    systemd.network = {
      enable = bool false;
      netdevs = anyAttrs;
      networks = anyAttrs;
      wait-online = anyAttrs;
    };
    services.dbus.packages = list;

    boot.kernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    boot.extraModprobeConfig = mkOption {
      type = types.lines;
      default = "";
    };

    networking = {
      hostName = mkOption {
        type = types.str;
        default = "nixos";
      };
      useNetworkd = bool false;
      useDHCP = bool true;
      dhcpcd.enable = bool true;
      networkmanager.enable = bool false;
      interfaces = mkOption {
        type = types.attrsOf (
          types.submodule {
            freeformType = types.attrsOf types.anything;
            options.ipv4 = mkOption {
              type = types.submodule {
                freeformType = types.attrsOf types.anything;
                options.addresses = list;
              };
              default = { };
            };
          }
        );
        default = { };
      };
      bonds = anyAttrs;
      vlans = anyAttrs;
      macvlans = anyAttrs;
    };

    services.k3s = {
      enable = bool false;
      role = mkOption {
        type = types.enum [
          "server"
          "agent"
        ];
        default = "server";
      };
    };
  };

  config._module.args.pkgs = {
    n3xnet = fakeDrv "n3xnet";
    stdenv.hostPlatform.system = "x86_64-linux";
    formats.toml =
      { }:
      {
        type = types.attrsOf types.anything;
        # The real one writes TOML with remarshal; the test renders `value` with the
        # toml crate and hands it to n3xnetd's parser.
        generate = name: value: { inherit name value; };
      };
  };
}
