# NixOS module: services.n3xnet — n3xnetd supervises the node's network from an n3x
# profile, replacing systemd-networkd, the scripted networking's links, dhcpcd and
# NetworkManager (all turned off here, with mkForce, since n3x's own modules turn
# networkd on).
#
# Writes /etc/n3xnet/n3xnet.toml (services.n3xnet.{node,role,drift} + settings) and the
# profile (/etc/n3xnet/profile.json from `profile`, or `profileFile` as it is), enables
# n3xnetd.service, n3xnet-report.service (with it) and n3xnet-wait-online.service
# (RequiredBy=network-online.target) from the package's own units, loads the kernel modules
# the profile needs.
#
# Evaluated on every test run against stub NixOS options (tests/nix/stubs.nix,
# tests/nixos_module.rs); the real NixOS evaluation is the flake's checks.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib)
    mkOption
    mkEnableOption
    mkPackageOption
    mkIf
    mkForce
    types
    ;

  cfg = config.services.n3xnet;
  format = pkgs.formats.toml { };

  # n3x profiles are data, except vlans-broken's `nodeConfig`/`k3sExtraFlags` functions:
  # drop function-valued attributes (at any depth) so builtins.toJSON can serialize.
  dropFunctions =
    v:
    if builtins.isAttrs v then
      lib.mapAttrs (_: dropFunctions) (lib.filterAttrs (_: x: !builtins.isFunction x) v)
    else if builtins.isList v then
      map dropFunctions (builtins.filter (x: !builtins.isFunction x) v)
    else
      v;

  profileIsJson = cfg.profileFile == null || lib.hasSuffix ".json" (toString cfg.profileFile);
  # n3xnetd reads JSON by the `.json` extension, TOML otherwise.
  profileEtc = "n3xnet/profile.${if profileIsJson then "json" else "toml"}";
  profileJson = builtins.toJSON (dropFunctions cfg.profile);

  # The profile as far as evaluation can see it: the attrset, or a profileFile given as a
  # Nix path (read at evaluation, no import-from-derivation). A profileFile given as a
  # string (a store path built elsewhere) is not read: n3xnetd checks it at start.
  profileData =
    if cfg.profile != null then
      dropFunctions cfg.profile
    else if cfg.profileFile != null && builtins.isPath cfg.profileFile then
      (if profileIsJson then builtins.fromJSON else builtins.fromTOML) (builtins.readFile cfg.profileFile)
    else
      null;

  # The profile's nodes, as n3xnet counts them (Profile::node_names).
  nodeNames = lib.unique (
    lib.sort lib.lessThan (
      builtins.concatMap (f: builtins.attrNames (profileData.${f} or { })) [
        "ipAddresses"
        "reservations"
        "nodes"
      ]
    )
  );

  # What the profile manages on this node, following n3xnet's resolve (src/profile/resolve.rs):
  # per-node overrides merge field by field; a bond is declared by bondConfig or
  # interfaces.bondMembers and named after the trunk, else the untagged cluster interface,
  # else the cluster VLAN's parent, else bond0; a VLAN `<parent>.<vid>` brings its parent;
  # Multus host shims (macvlan/ipvlan) of nodes with a host address.
  over = (profileData.nodes or { }).${cfg.node} or { };
  ifs = (profileData.interfaces or { }) // (over.interfaces or { });
  vlanIds = (profileData.vlanIds or { }) // (over.vlanIds or { });
  hasBondConfig = profileData ? bondConfig || over ? bondConfig;
  bondConfig = (profileData.bondConfig or { }) // (over.bondConfig or { });
  hasBond = hasBondConfig || ifs ? bondMembers;
  dottedParent =
    name:
    let
      m = builtins.match "(.+)\\.[0-9]+" name;
    in
    if m == null then null else builtins.head m;
  bondName =
    if ifs ? trunk then
      ifs.trunk
    else if ifs ? cluster && !(vlanIds ? cluster) then
      ifs.cluster
    else if ifs ? cluster && dottedParent ifs.cluster != null then
      dottedParent ifs.cluster
    else
      "bond0";
  bondMembers = bondConfig.members or ifs.bondMembers or [
    "eth1"
    "eth2"
  ];
  netIfaces = builtins.filter (x: x != null) [
    (ifs.cluster or null)
    (ifs.storage or null)
  ];
  vlanLinks = builtins.filter (n: dottedParent n != null) netIfaces;
  multus = profileData.multus or { };
  shimName =
    nad: m:
    m.hostInterface or (builtins.substring 0 15 ((if (m.type or "") == "ipvlan" then "iv-" else "mv-") + nad));
  shims = lib.mapAttrsToList shimName (
    lib.filterAttrs (
      _: m:
      builtins.elem (m.type or "") [
        "macvlan"
        "ipvlan"
      ]
      && (m.hostAddresses or { }) ? ${cfg.node}
    ) multus
  );
  managedLinks = lib.unique (
    lib.sort lib.lessThan (
      netIfaces
      ++ map dottedParent vlanLinks
      ++ lib.optionals (ifs ? trunk) [ ifs.trunk ]
      ++ lib.optionals hasBond ([ bondName ] ++ bondMembers)
      ++ shims
    )
  );

  # Kernel modules the profile's link kinds need (any node: one profile, one module set).
  allNodes = builtins.attrValues (profileData.nodes or { });
  anyBond =
    profileData ? bondConfig
    || (profileData.interfaces or { }) ? bondMembers
    || builtins.any (n: n ? bondConfig || (n.interfaces or { }) ? bondMembers) allNodes;
  anyVlan =
    (profileData.vlanIds or { }) != { }
    || builtins.any (n: (n.vlanIds or { }) != { }) allNodes
    || builtins.any (m: (m.type or "") == "vlan") (builtins.attrValues multus);
  multusType = t: builtins.any (m: (m.type or "") == t) (builtins.attrValues multus);
  kernelModules =
    if profileData == null then
      [
        "bonding"
        "8021q"
        "macvlan"
        "ipvlan"
      ]
    else
      lib.optional anyBond "bonding"
      ++ lib.optional anyVlan "8021q"
      ++ lib.optional (multusType "macvlan") "macvlan"
      ++ lib.optional (multusType "ipvlan") "ipvlan";

  # What conflicts with n3xnet owning the managed links: the scripted backend (with
  # networkd off it is the one left) would add addresses and create bonds/VLANs itself.
  # (NixOS tests: virtualisation.vlans assigns 192.168.<vlan>.<n>/24 through
  # networking.interfaces; give NICs with virtualisation.interfaces.<nic>.assignIP = false.)
  managed = n: builtins.elem n managedLinks;
  claims =
    lib.concatLists (
      lib.mapAttrsToList (
        n: i:
        lib.optional (
          managed n && (i.ipv4.addresses or [ ]) != [ ]
        ) "networking.interfaces.${n}.ipv4.addresses"
      ) config.networking.interfaces
    )
    ++ lib.concatLists (
      lib.mapAttrsToList (
        n: b:
        lib.optional (managed n || builtins.any managed (b.interfaces or [ ])) "networking.bonds.${n}"
      ) config.networking.bonds
    )
    ++ lib.concatLists (
      lib.mapAttrsToList (n: _: lib.optional (managed n) "networking.vlans.${n}") config.networking.vlans
    )
    ++ lib.concatLists (
      lib.mapAttrsToList (n: _: lib.optional (managed n) "networking.macvlans.${n}") config.networking.macvlans
    );

  profileName = if cfg.profile != null then "services.n3xnet.profile" else toString cfg.profileFile;

  settings =
    cfg.settings
    // lib.filterAttrs (_: v: v != null) {
      profile = "/etc/${profileEtc}";
      node = cfg.node;
      role = cfg.role;
      drift = cfg.drift;
    };
  configFile = format.generate "n3xnet.toml" settings;
  settingsKeys = [
    "online"
    "kubernetes"
    "prometheus"
    "multus"
  ];

  # The reporter's file sinks: its unit may write only the default directories, so a sink
  # set elsewhere gets its directory (n3xnet-report resolves a relative path from the
  # configuration's directory, /etc/n3xnet). '-': a missing directory does not stop the
  # unit; the reporter then shows the write error in its report.json.
  sinkPaths = builtins.filter (p: p != null) [
    (cfg.settings.prometheus.textfile or null)
    (cfg.settings.kubernetes.nfdFeatureFile or null)
  ];
  absolute = p: if lib.hasPrefix "/" p then p else "/etc/n3xnet/${p}";
  sinkDirs = lib.unique (map (p: dirOf (absolute (toString p))) sinkPaths);
  # n3xnetd writes the node's Multus CNI configs there (multus.confDir, n3x: Multus'
  # /etc/cni/multus/net.d); the package's unit allows /etc no writes.
  multusConfDir = cfg.settings.multus.confDir or null;
in
{
  options.services.n3xnet = {
    enable = mkEnableOption "n3xnetd, the n3x network supervisor (replaces systemd-networkd, dhcpcd and NetworkManager)";

    package = mkPackageOption pkgs "n3xnet" { };

    profile = mkOption {
      type = types.nullOr (types.attrsOf types.anything);
      default = null;
      example = lib.literalExpression "inputs.n3x.lib.networkProfiles.bonding-vlans";
      description = ''
        The node's network profile: an n3x profile attrset (e.g. `import ./profiles/vlans.nix { inherit lib; }`),
        written with `builtins.toJSON` to `/etc/n3xnet/profile.json`. Function-valued
        attributes (such as `vlans-broken`'s `nodeConfig`) are dropped. Exactly one of
        `profile` and `profileFile` must be set.
      '';
    };

    profileFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = lib.literalExpression "./profiles/n100-bond.toml";
      description = ''
        The profile as a file (TOML, or JSON when its name ends in `.json`), installed as
        `/etc/n3xnet/profile.toml` (`.json`). When given as a Nix path it is read at
        evaluation to check `node`. Exactly one of `profile` and `profileFile` must be set.
      '';
    };

    node = mkOption {
      type = types.str;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      example = "server-1";
      description = ''
        The node of the profile this host is (n3x profiles name `server-1`, `agent-1`, ...
        while hosts are `n100-1`, ...: set it). Asserted to be one of the profile's nodes.
      '';
    };

    role = mkOption {
      type = types.nullOr (
        types.enum [
          "server"
          "agent"
        ]
      );
      default = if config.services.k3s.enable then config.services.k3s.role else null;
      defaultText = lib.literalExpression ''if config.services.k3s.enable then config.services.k3s.role else null'';
      description = ''
        The node's k3s role, reported in n3xnetd's status. `null`: the profile's
        `nodes.<node>.role`. Asserted to agree with it when both are set.
      '';
    };

    drift = mkOption {
      type = types.enum [
        "enforce"
        "report"
      ];
      default = "enforce";
      description = ''
        Drift found while running: `enforce` applies the minimal diff (with backoff),
        `report` only logs it and shows it in the status.
      '';
    };

    waitOnline = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Enable `n3xnet-wait-online.service` (RequiredBy `network-online.target`): units
          ordered after the target (k3s) start once n3xnetd reports the node online.
        '';
      };
      timeout = mkOption {
        type = types.ints.unsigned;
        default = 120;
        description = "Seconds `n3xnetctl wait-online` waits before failing (0: no limit).";
      };
    };

    settings = mkOption {
      type = types.submodule { freeformType = format.type; };
      default = { };
      example = lib.literalExpression ''
        {
          online = { require = [ "cluster" "storage" ]; timeout = "90s"; };
          kubernetes.dataDir = "/var/lib/k3s";
          prometheus.textfile = "/var/lib/node-exporter/n3xnet.prom";
          multus.confDir = "/etc/cni/multus/net.d";
        }
      '';
      description = ''
        More of `/etc/n3xnet/n3xnet.toml` (RFC 42 free-form): the `online`, `kubernetes`,
        `prometheus` and `multus` tables (see n3xnet.toml(5); n3xnetd may write the
        `multus.confDir` set here). `profile`, `node`, `role` and `drift`
        come from the options of the same names. The directories of
        `prometheus.textfile` and `kubernetes.nfdFeatureFile` are made writable for
        n3xnet-report.service.
      '';
    };

    managedLinks = mkOption {
      type = types.listOf types.str;
      internal = true;
      readOnly = true;
      default = managedLinks;
      defaultText = "the links of the profile's node";
      description = "The links the profile manages on this node, as far as evaluation can tell.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = (cfg.profile == null) != (cfg.profileFile == null);
        message =
          "services.n3xnet: set exactly one of services.n3xnet.profile (an n3x profile attrset) and "
          + "services.n3xnet.profileFile (a TOML or JSON file); "
          + (if cfg.profile == null then "neither is set" else "both are set");
      }
      {
        assertion = profileData == null || builtins.elem cfg.node nodeNames;
        message =
          "services.n3xnet.node = \"${cfg.node}\" is not a node of the profile ${profileName} "
          + "(its nodes: ${if nodeNames == [ ] then "none" else lib.concatStringsSep ", " nodeNames}); "
          + "it defaults to networking.hostName: set services.n3xnet.node";
      }
      {
        assertion = profileData == null || cfg.role == null || !(over ? role) || over.role == cfg.role;
        message = "services.n3xnet.role = \"${toString cfg.role}\" contradicts nodes.${cfg.node}.role = \"${over.role or ""}\" of the profile ${profileName}";
      }
      {
        assertion = builtins.all (k: builtins.elem k settingsKeys) (builtins.attrNames cfg.settings);
        message =
          "services.n3xnet.settings may hold only ${lib.concatStringsSep ", " settingsKeys}; found "
          + lib.concatStringsSep ", " (builtins.filter (k: !builtins.elem k settingsKeys) (builtins.attrNames cfg.settings))
          + " (use services.n3xnet.{profile,node,role,drift})";
      }
      {
        assertion = claims == [ ];
        message =
          "services.n3xnet: ${lib.concatStringsSep ", " claims} claim(s) a link that n3xnet manages "
          + "on node ${cfg.node} (${lib.concatStringsSep ", " managedLinks}); remove it: n3xnetd owns these links "
          + "(in NixOS tests give NICs with virtualisation.interfaces.<nic>.assignIP = false, not virtualisation.vlans)";
      }
    ];

    environment.etc = {
      "n3xnet/n3xnet.toml".source = configFile;
      ${profileEtc} =
        if cfg.profile != null then { text = profileJson; } else { source = cfg.profileFile; };
    };

    environment.systemPackages = [ cfg.package ];
    services.dbus.packages = [ cfg.package ];
    # The package's units (store paths substituted); NixOS ignores their [Install]: the
    # wantedBy/requiredBy below enable them.
    systemd.packages = [ cfg.package ];

    systemd.services.n3xnetd = {
      wantedBy = [ "multi-user.target" ];
      # A switch restarts in place: stopping leaves the network as it is anyway.
      stopIfChanged = false;
      # [kubernetes] and the daemon's own settings need a restart; a profile change is
      # applied by SIGHUP (ExecReload) as a minimal diff.
      restartTriggers = [ configFile ];
      reloadTriggers = [
        (if cfg.profile != null then builtins.hashString "sha256" profileJson else cfg.profileFile)
      ];
      serviceConfig = {
        ExecStart = [
          ""
          "${cfg.package}/bin/n3xnetd --config /etc/n3xnet/n3xnet.toml"
        ];
      }
      // lib.optionalAttrs (multusConfDir != null) {
        ReadWritePaths = [ "-${absolute (toString multusConfDir)}" ];
      };
    };

    # The unprivileged reporter (Kubernetes, NFD, Prometheus): the package's unit has it
    # PartOf= n3xnetd, and n3xnetd's Wants= starts it; wantedBy is its [Install], which
    # NixOS does not read.
    systemd.services.n3xnet-report = {
      wantedBy = [ "n3xnetd.service" ];
      # It reads [kubernetes] and [prometheus] at start only. Restarted in place after the
      # switch: stopping it first would only lengthen the gap in its reports.
      stopIfChanged = false;
      restartTriggers = [ configFile ];
      serviceConfig = {
        ExecStart = [
          ""
          "${cfg.package}/bin/n3xnet-report --config /etc/n3xnet/n3xnet.toml"
        ];
      }
      // lib.optionalAttrs (sinkDirs != [ ]) {
        ReadWritePaths = map (d: "-${d}") sinkDirs;
      };
    };

    systemd.services.n3xnet-wait-online = mkIf cfg.waitOnline.enable {
      requiredBy = [ "network-online.target" ];
      serviceConfig.ExecStart = [
        ""
        "${cfg.package}/bin/n3xnetctl wait-online --timeout ${toString cfg.waitOnline.timeout}"
      ];
    };

    boot.kernelModules = kernelModules;
    # Loading bonding must not create a stray bond0: n3xnetd creates the bonds it needs.
    boot.extraModprobeConfig = ''
      options bonding max_bonds=0
    '';

    # What n3xnetd replaces. n3x's common networking module sets the first two to true.
    systemd.network.enable = mkForce false;
    networking.useNetworkd = mkForce false;
    networking.useDHCP = mkForce false;
    networking.dhcpcd.enable = mkForce false;
    networking.networkmanager.enable = mkForce false;
  };
}
