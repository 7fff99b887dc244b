//! The `ha-manager` command tree (06 §9.2) as data: every command's
//! positional arguments and options with their schemas, the handler that
//! runs it, and the usage text derived from it. The argument parser, the
//! usage listing, `help`, shell completion and the man page all read this
//! one table, so they cannot drift apart.

use super::{crm_command, groups, resources, rules, status, what_if, CliError, Ctx, Params};

/// A named format of an option value (06 §2.3, §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    /// `pve-ha-resource-or-vm-id`: `^([a-z]+:\S+|\d+)$`.
    SidOrVmid,
    /// `pve-ha-resource-id`: `^[a-z]+:\S+$`.
    Sid,
    /// `pve-ha-resource-id-list`.
    SidList,
    /// `pve-configid` (group and rule ids).
    ConfigId,
    /// `pve-configid-list` (the `delete` option).
    ConfigIdList,
    /// `pve-node`: a node name.
    NodeName,
    /// `pve-ha-node-list` / group node list: `<node>[:<prio>]` entries.
    HaNodeList,
}

impl Fmt {
    /// List formats may be repeated on the command line; the values are
    /// joined with `,` (06 §9.1).
    pub fn is_list(self) -> bool {
        matches!(self, Fmt::SidList | Fmt::ConfigIdList | Fmt::HaNodeList)
    }
}

/// The type of an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Boolean; the value is optional on the command line.
    Bool,
    /// Integer with an optional minimum.
    Int {
        /// Smallest accepted value.
        min: Option<i64>,
    },
    /// Free text with an optional length limit.
    Str {
        /// Longest accepted value.
        max_len: Option<usize>,
    },
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Text checked by a named format.
    Format {
        /// The format.
        fmt: Fmt,
        /// Longest accepted value.
        max_len: Option<usize>,
    },
    /// The rest of the command line (`help`'s `extra-args`).
    Rest,
}

/// How the value of an argument is completed (06 §9.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    /// Nothing dynamic (enums complete to their words anyway).
    None,
    /// Guests of the VM list not yet configured (`add`).
    NewSid,
    /// Configured resources.
    Sid,
    /// Configured resources, as a list.
    SidList,
    /// Configured groups.
    Group,
    /// Configured rules.
    Rule,
    /// Migration targets: the cluster nodes but the local one.
    MigrationTarget,
    /// A cluster node.
    Node,
    /// Cluster nodes, as a list.
    NodeList,
}

/// One parameter of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its name (option name and positional placeholder).
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether it may be left out.
    pub optional: bool,
    /// Default shown in the help.
    pub default: Option<&'static str>,
    /// One-line description for help and the man page.
    pub desc: &'static str,
    /// Completion of its value.
    pub comp: Comp,
}

const fn opt(name: &'static str, kind: Kind, desc: &'static str) -> Param {
    Param {
        name,
        kind,
        optional: true,
        default: None,
        desc,
        comp: Comp::None,
    }
}

const fn req(name: &'static str, kind: Kind, desc: &'static str) -> Param {
    Param {
        name,
        kind,
        optional: false,
        default: None,
        desc,
        comp: Comp::None,
    }
}

const fn with_default(p: Param, default: &'static str) -> Param {
    Param {
        default: Some(default),
        ..p
    }
}

const fn with_comp(p: Param, comp: Comp) -> Param {
    Param { comp, ..p }
}

/// Which part of upstream implements a command; the usage listing groups
/// the real commands by it (06 §9.7a).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// `PVE::API2::HA::Groups`.
    Groups,
    /// `PVE::API2::HA::Resources`.
    Resources,
    /// `PVE::API2::HA::Rules`.
    Rules,
    /// `PVE::API2::HA::Status`.
    Status,
    /// `PVE::CLI::ha_manager` (the CLI-only commands).
    Cli,
    /// `PVE::CLIHandler` (`help`).
    Handler,
}

/// What runs a command.
pub type Handler = fn(&mut Ctx, &mut Params) -> Result<(), CliError>;

/// One real command.
#[derive(Debug, Clone, Copy)]
pub struct CmdDef {
    /// Positional parameters, in order.
    pub args: &'static [&'static str],
    /// Every parameter, positional ones included.
    pub params: &'static [Param],
    /// Whether the generic output options apply (`[FORMAT_OPTIONS]`).
    pub format_options: bool,
    /// Implementing part, for the usage listing.
    pub class: Class,
    /// Description for help and the man page.
    pub about: &'static str,
    /// The handler.
    pub run: Handler,
}

impl CmdDef {
    /// The parameter of this name.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params
            .iter()
            .chain(if self.format_options {
                FORMAT_PARAMS
            } else {
                &[]
            })
            .find(|p| p.name == name)
    }

    /// Every option name the parser accepts, sorted: the parameters and,
    /// where they apply, the output options.
    pub fn option_params(&self) -> Vec<&'static Param> {
        let mut v: Vec<&'static Param> = self.params.iter().collect();
        if self.format_options {
            v.extend(FORMAT_PARAMS.iter());
        }
        v.sort_by_key(|p| p.name);
        v
    }

    /// The short usage line (06 §9.7a): `<prefix> <args>`, then
    /// ` [OPTIONS]` when there are options besides the positional ones and
    /// ` [FORMAT_OPTIONS]` for commands with output options. With no
    /// positional arguments this leaves upstream's double space.
    pub fn usage(&self, prefix: &str) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .filter_map(|a| self.param(a))
            .map(|p| {
                if matches!(p.kind, Kind::Format { fmt, .. } if fmt.is_list()) {
                    format!("{{<{}>}}", p.name)
                } else if p.optional {
                    format!("[<{}>]", p.name)
                } else {
                    format!("<{}>", p.name)
                }
            })
            .collect();
        let mut s = format!("{prefix} {}", args.join(" "));
        if self.params.iter().any(|p| !self.args.contains(&p.name)) {
            s.push_str(" [OPTIONS]");
        }
        if self.format_options {
            s.push_str(" [FORMAT_OPTIONS]");
        }
        s
    }
}

/// An entry of the command tree.
#[derive(Debug, Clone, Copy)]
pub enum Entry {
    /// A real command.
    Cmd(&'static CmdDef),
    /// A command group (`crm-command`, `rules`).
    Group(&'static [(&'static str, Entry)]),
    /// An alias expanding to other words (`migrate` → `crm-command
    /// migrate`); aliases take no part in prefix matching.
    Alias(&'static [&'static str]),
}

// ---------------------------------------------------------------------------
// Parameters.

const STATES: &[&str] = &["started", "stopped", "enabled", "disabled", "ignored"];

const SID: Param = with_comp(
    req(
        "sid",
        Kind::Format {
            fmt: Fmt::SidOrVmid,
            max_len: None,
        },
        "HA resource ID. This consists of a resource type followed by a resource specific name, separated with colon (example: vm:100 / ct:100). For virtual machines and containers, you can simply use the VM or CT id as a shortcut (example: 100).",
    ),
    Comp::Sid,
);
const NEW_SID: Param = with_comp(SID, Comp::NewSid);
const COMMENT: Param = opt(
    "comment",
    Kind::Str {
        max_len: Some(4096),
    },
    "Description.",
);
const GROUP_OPT: Param = with_comp(
    opt(
        "group",
        Kind::Format {
            fmt: Fmt::ConfigId,
            max_len: None,
        },
        "The HA group identifier.",
    ),
    Comp::Group,
);
const MAX_RELOCATE: Param = with_default(
    opt(
        "max_relocate",
        Kind::Int { min: Some(0) },
        "Maximal number of service relocate tries when a service failes to start.",
    ),
    "1",
);
const MAX_RESTART: Param = with_default(
    opt(
        "max_restart",
        Kind::Int { min: Some(0) },
        "Maximal number of tries to restart the service on a node after its start failed.",
    ),
    "1",
);
const STATE: Param = with_default(
    opt("state", Kind::Enum(STATES), "Requested resource state."),
    "started",
);
const FAILBACK: Param = with_default(
    opt(
        "failback",
        Kind::Bool,
        "Automatically migrate HA resource to the node with the highest priority according to their node affinity rules, if a node with a higher priority than the current node comes online.",
    ),
    "1",
);
const FORCE: Param = with_default(
    opt(
        "force",
        Kind::Bool,
        "Rewrite the configuration file even if parts of it would be lost: lines or sections that cannot be parsed, comment lines, CRLF line ends, duplicate sections, values the writer cannot write back. Without it such a file is left unchanged and every problem is listed (an extension: upstream always rewrites).",
    ),
    "0",
);
const RES_TYPE: Param = opt("type", Kind::Enum(&["ct", "ocf", "vm"]), "Resource type.");
const OCF_AGENT: Param = opt(
    "agent",
    Kind::Str { max_len: Some(256) },
    "OCF resource agent as PROVIDER:TYPE, e.g. heartbeat:IPaddr2 (type 'ocf' only, etcd backend; an extension, docs/ocf.md).",
);
const OCF_PARAMS: Param = opt(
    "params",
    Kind::Str {
        max_len: Some(4096),
    },
    "OCF agent parameters: space-separated key=value items, a value may be quoted with '...' or \"...\"; replaces all parameters (type 'ocf' only; an extension, docs/ocf.md).",
);
const DELETE: Param = opt(
    "delete",
    Kind::Format {
        fmt: Fmt::ConfigIdList,
        max_len: Some(4096),
    },
    "A list of settings you want to delete.",
);
const DIGEST: Param = opt(
    "digest",
    Kind::Str { max_len: Some(40) },
    "Prevent changes if current configuration file has a different digest. This can be used to prevent concurrent modifications.",
);
const PURGE: Param = with_default(
    opt(
        "purge",
        Kind::Bool,
        "Remove this resource from rules that reference it, deleting the rule if this resource is the only resource in the rule",
    ),
    "1",
);
const TARGET: Param = with_comp(
    req(
        "node",
        Kind::Format {
            fmt: Fmt::NodeName,
            max_len: None,
        },
        "Target node.",
    ),
    Comp::MigrationTarget,
);
const CLUSTER_NODE: Param = with_comp(
    req(
        "node",
        Kind::Format {
            fmt: Fmt::NodeName,
            max_len: None,
        },
        "The cluster node name.",
    ),
    Comp::Node,
);
const TIMEOUT: Param = req(
    "timeout",
    Kind::Int { min: Some(0) },
    "Timeout in seconds. If set to 0 a hard stop will be performed.",
);
const RESOURCE_MODE: Param = req(
    "resource-mode",
    Kind::Enum(&["freeze", "ignore"]),
    "Controls how HA managed resources are handled while disarmed. 'freeze' keeps the services in their current state; 'ignore' removes them from HA management while disarmed.",
);
const VERBOSE: Param = with_default(
    opt(
        "verbose",
        Kind::Bool,
        "Verbose output. Include complete CRM and LRM status (JSON).",
    ),
    "0",
);
const STATUS_FORMAT: Param = with_default(
    opt(
        "output-format",
        Kind::Enum(&["text", "json", "json-pretty"]),
        "Output format (an extension: upstream prints text only).",
    ),
    "text",
);

const WHAT_IF_FORMAT: Param = with_default(
    opt(
        "output-format",
        Kind::Enum(&["text", "json", "json-pretty"]),
        "Output format: text lines, or an array of {sid, from, to, after_s, reason}.",
    ),
    "text",
);
const WHAT_IF_VERBOSE: Param = with_default(
    opt(
        "verbose",
        Kind::Bool,
        "Also print the simulation's log (the tester's format) on stderr.",
    ),
    "0",
);
const WHAT_IF_NODE: Param = with_comp(
    req(
        "node",
        Kind::Format {
            fmt: Fmt::NodeName,
            max_len: None,
        },
        "The cluster node the event happens to.",
    ),
    Comp::Node,
);
const WHAT_IF_FILE: Param = req(
    "file",
    Kind::Str { max_len: None },
    "A proposed rules.cfg (read from the local file system).",
);
const WHAT_IF_MODE: Param = req(
    "mode",
    Kind::Enum(&["basic", "static", "dynamic"]),
    "The proposed scheduler mode (datacenter.cfg 'crs: ha=<mode>').",
);

const GROUP_ID: Param = with_comp(
    req(
        "group",
        Kind::Format {
            fmt: Fmt::ConfigId,
            max_len: None,
        },
        "The HA group identifier.",
    ),
    Comp::Group,
);
const NEW_GROUP_ID: Param = with_comp(GROUP_ID, Comp::None);
const GROUP_NODES: Param = with_comp(
    req(
        "nodes",
        Kind::Format {
            fmt: Fmt::HaNodeList,
            max_len: None,
        },
        "List of cluster node names with optional priority.",
    ),
    Comp::NodeList,
);
const GROUP_NODES_OPT: Param = Param {
    optional: true,
    ..GROUP_NODES
};
const NOFAILBACK: Param = with_default(
    opt(
        "nofailback",
        Kind::Bool,
        "The CRM tries to run services on the node with the highest priority. If a node with higher priority comes online, the CRM migrates the service to that node. Enabling nofailback prevents that behavior.",
    ),
    "0",
);
const RESTRICTED: Param = with_default(
    opt(
        "restricted",
        Kind::Bool,
        "Resources bound to restricted groups may only run on nodes defined by the group.",
    ),
    "0",
);
const GROUP_TYPE: Param = opt("type", Kind::Enum(&["group"]), "Group type.");

const RULE_TYPES: &[&str] = &["node-affinity", "resource-affinity"];
const RULE_TYPE: Param = req("type", Kind::Enum(RULE_TYPES), "HA rule type.");
const RULE_TYPE_FILTER: Param = opt(
    "type",
    Kind::Enum(RULE_TYPES),
    "Limit the returned list to the specified rule type.",
);
const RULE_RESOURCE_FILTER: Param = with_comp(
    opt(
        "resource",
        Kind::Format {
            fmt: Fmt::Sid,
            max_len: None,
        },
        "Limit the returned list to rules affecting the specified resource.",
    ),
    Comp::Sid,
);
const RULE_ID: Param = with_comp(
    req(
        "rule",
        Kind::Format {
            fmt: Fmt::ConfigId,
            max_len: None,
        },
        "HA rule identifier.",
    ),
    Comp::Rule,
);
const NEW_RULE_ID: Param = with_comp(RULE_ID, Comp::None);
const RULE_RESOURCES: Param = with_comp(
    opt(
        "resources",
        Kind::Format {
            fmt: Fmt::SidList,
            max_len: None,
        },
        "List of HA resource IDs. This consists of a list of resource types followed by a resource specific name separated with a colon (example: vm:100,ct:101).",
    ),
    Comp::SidList,
);
const RULE_NODES: Param = with_comp(
    opt(
        "nodes",
        Kind::Format {
            fmt: Fmt::HaNodeList,
            max_len: None,
        },
        "List of cluster node names with optional priority.",
    ),
    Comp::NodeList,
);
const RULE_DISABLE: Param = opt("disable", Kind::Bool, "Whether the HA rule is disabled.");
const RULE_STRICT: Param = with_default(
    opt(
        "strict",
        Kind::Bool,
        "Describes whether the node affinity rule is strict or non-strict.",
    ),
    "0",
);
const RULE_AFFINITY: Param = opt(
    "affinity",
    Kind::Enum(&["positive", "negative"]),
    "Describes whether the HA resources are supposed to be kept on the same node ('positive'), or are supposed to be kept on separate nodes ('negative').",
);

/// The generic output options (06 §9.6).
pub const FORMAT_PARAMS: &[Param] = &[
    with_default(
        opt(
            "output-format",
            Kind::Enum(&["text", "json", "json-pretty", "yaml"]),
            "Output format.",
        ),
        "text",
    ),
    opt(
        "noheader",
        Kind::Bool,
        "Do not show column headers (for 'text' format).",
    ),
    opt(
        "noborder",
        Kind::Bool,
        "Do not draw borders (for 'text' format).",
    ),
    opt("quiet", Kind::Bool, "Suppress printing results."),
    with_default(
        opt(
            "human-readable",
            Kind::Bool,
            "Call output rendering functions to produce human readable text.",
        ),
        "1",
    ),
];

// ---------------------------------------------------------------------------
// Commands.

/// `status`.
pub static STATUS: CmdDef = CmdDef {
    args: &[],
    params: &[VERBOSE, STATUS_FORMAT],
    format_options: false,
    class: Class::Cli,
    about: "Display HA manger status.",
    run: status::status,
};

/// `config`.
pub static CONFIG: CmdDef = CmdDef {
    args: &[],
    params: &[Param {
        desc: "Only list resources of specific type",
        ..RES_TYPE
    }],
    format_options: false,
    class: Class::Resources,
    about: "List HA resources.",
    run: resources::config,
};

/// `add`.
pub static ADD: CmdDef = CmdDef {
    args: &["sid"],
    params: &[
        NEW_SID,
        OCF_AGENT,
        OCF_PARAMS,
        COMMENT,
        FAILBACK,
        GROUP_OPT,
        MAX_RELOCATE,
        MAX_RESTART,
        STATE,
        RES_TYPE,
        FORCE,
    ],
    format_options: false,
    class: Class::Resources,
    about: "Create a new HA resource.",
    run: resources::add,
};

/// `set`.
pub static SET: CmdDef = CmdDef {
    args: &["sid"],
    params: &[
        SID,
        OCF_AGENT,
        OCF_PARAMS,
        COMMENT,
        DELETE,
        DIGEST,
        FAILBACK,
        GROUP_OPT,
        MAX_RELOCATE,
        MAX_RESTART,
        Param {
            default: None,
            ..STATE
        },
        FORCE,
    ],
    format_options: false,
    class: Class::Resources,
    about: "Update resource configuration.",
    run: resources::set,
};

/// `remove`.
pub static REMOVE: CmdDef = CmdDef {
    args: &["sid"],
    params: &[SID, PURGE, FORCE],
    format_options: false,
    class: Class::Resources,
    about: "Delete resource configuration.",
    run: resources::remove,
};

/// `crm-command migrate`.
pub static MIGRATE: CmdDef = CmdDef {
    args: &["sid", "node"],
    params: &[SID, TARGET],
    format_options: false,
    class: Class::Resources,
    about: "Request resource migration (online) to another node.",
    run: resources::migrate,
};

/// `crm-command relocate`.
pub static RELOCATE: CmdDef = CmdDef {
    args: &["sid", "node"],
    params: &[SID, TARGET],
    format_options: false,
    class: Class::Resources,
    about: "Request resource relocation to another node. This stops the service on the old node, and restarts it on the target node.",
    run: resources::relocate,
};

/// `crm-command stop`.
pub static STOP: CmdDef = CmdDef {
    args: &["sid", "timeout"],
    params: &[SID, TIMEOUT],
    format_options: false,
    class: Class::Cli,
    about: "Request the service to be stopped.",
    run: crm_command::stop,
};

/// `crm-command node-maintenance enable`.
pub static MAINTENANCE_ENABLE: CmdDef = CmdDef {
    args: &["node"],
    params: &[CLUSTER_NODE],
    format_options: false,
    class: Class::Cli,
    about: "Request the node to enter maintenance mode.",
    run: crm_command::maintenance_enable,
};

/// `crm-command node-maintenance disable`.
pub static MAINTENANCE_DISABLE: CmdDef = CmdDef {
    args: &["node"],
    params: &[CLUSTER_NODE],
    format_options: false,
    class: Class::Cli,
    about: "Request the node to leave maintenance mode.",
    run: crm_command::maintenance_disable,
};

/// `crm-command disarm-ha`.
pub static DISARM: CmdDef = CmdDef {
    args: &["resource-mode"],
    params: &[RESOURCE_MODE],
    format_options: false,
    class: Class::Status,
    about: "Request disarming the HA stack, releasing all watchdogs cluster-wide.",
    run: crm_command::disarm,
};

/// `crm-command arm-ha`.
pub static ARM: CmdDef = CmdDef {
    args: &[],
    params: &[],
    format_options: false,
    class: Class::Status,
    about: "Request re-arming the HA stack after it was disarmed.",
    run: crm_command::arm,
};

/// `what-if node-down`.
pub static WHAT_IF_NODE_DOWN: CmdDef = CmdDef {
    args: &["node"],
    params: &[WHAT_IF_NODE, WHAT_IF_FORMAT, WHAT_IF_VERBOSE],
    format_options: false,
    class: Class::Cli,
    about: "Show which services would move, where, when and why, if the node failed (an extension: simulates the live state; nothing is written).",
    run: what_if::node_down,
};

/// `what-if maintenance`.
pub static WHAT_IF_MAINTENANCE: CmdDef = CmdDef {
    args: &["node"],
    params: &[WHAT_IF_NODE, WHAT_IF_FORMAT, WHAT_IF_VERBOSE],
    format_options: false,
    class: Class::Cli,
    about: "Show which services would move, where, when and why, if the node entered maintenance mode (an extension: simulates the live state; nothing is written).",
    run: what_if::maintenance,
};

/// `what-if rules`.
pub static WHAT_IF_RULES: CmdDef = CmdDef {
    args: &["file"],
    params: &[WHAT_IF_FILE, WHAT_IF_FORMAT, WHAT_IF_VERBOSE],
    format_options: false,
    class: Class::Cli,
    about: "Show which services would move, where, when and why, if the given rules replaced rules.cfg (an extension: simulates the live state; nothing is written).",
    run: what_if::rules,
};

/// `what-if crs`.
pub static WHAT_IF_CRS: CmdDef = CmdDef {
    args: &["mode"],
    params: &[WHAT_IF_MODE, WHAT_IF_FORMAT, WHAT_IF_VERBOSE],
    format_options: false,
    class: Class::Cli,
    about: "Show which services would move, where, when and why, if the HA scheduler mode changed (an extension: simulates the live state; nothing is written).",
    run: what_if::crs,
};

/// `groupconfig`.
pub static GROUPCONFIG: CmdDef = CmdDef {
    args: &[],
    params: &[],
    format_options: false,
    class: Class::Groups,
    about: "Get HA groups. (deprecated in favor of HA rules)",
    run: groups::config,
};

/// `groupadd`.
pub static GROUPADD: CmdDef = CmdDef {
    args: &["group"],
    params: &[
        NEW_GROUP_ID,
        COMMENT,
        NOFAILBACK,
        GROUP_NODES,
        RESTRICTED,
        GROUP_TYPE,
        FORCE,
    ],
    format_options: false,
    class: Class::Groups,
    about: "Create a new HA group. (deprecated in favor of HA rules)",
    run: groups::add,
};

/// `groupset`.
pub static GROUPSET: CmdDef = CmdDef {
    args: &["group"],
    params: &[
        GROUP_ID,
        COMMENT,
        DELETE,
        DIGEST,
        NOFAILBACK,
        GROUP_NODES_OPT,
        RESTRICTED,
        FORCE,
    ],
    format_options: false,
    class: Class::Groups,
    about: "Update ha group configuration. (deprecated in favor of HA rules)",
    run: groups::set,
};

/// `groupremove`.
pub static GROUPREMOVE: CmdDef = CmdDef {
    args: &["group"],
    params: &[GROUP_ID, FORCE],
    format_options: false,
    class: Class::Groups,
    about: "Delete ha group configuration. (deprecated in favor of HA rules)",
    run: groups::remove,
};

/// `rules list`.
pub static RULES_LIST: CmdDef = CmdDef {
    args: &[],
    params: &[RULE_RESOURCE_FILTER, RULE_TYPE_FILTER],
    format_options: true,
    class: Class::Rules,
    about: "Get HA rules.",
    run: rules::list,
};

/// `rules config`.
pub static RULES_CONFIG: CmdDef = CmdDef {
    args: &[],
    params: &[RULE_RESOURCE_FILTER, RULE_TYPE_FILTER],
    format_options: true,
    class: Class::Rules,
    about: "Get HA rules.",
    run: rules::config,
};

/// `rules add`.
pub static RULES_ADD: CmdDef = CmdDef {
    args: &["type", "rule"],
    params: &[
        RULE_TYPE,
        NEW_RULE_ID,
        RULE_AFFINITY,
        COMMENT,
        RULE_DISABLE,
        RULE_NODES,
        RULE_RESOURCES,
        RULE_STRICT,
        FORCE,
    ],
    format_options: false,
    class: Class::Rules,
    about: "Create HA rule.",
    run: rules::add,
};

/// `rules set`.
pub static RULES_SET: CmdDef = CmdDef {
    args: &["type", "rule"],
    params: &[
        RULE_TYPE,
        RULE_ID,
        RULE_AFFINITY,
        COMMENT,
        DELETE,
        DIGEST,
        RULE_DISABLE,
        RULE_NODES,
        RULE_RESOURCES,
        Param {
            default: None,
            ..RULE_STRICT
        },
        FORCE,
    ],
    format_options: false,
    class: Class::Rules,
    about: "Update HA rule.",
    run: rules::set,
};

/// `rules remove`.
pub static RULES_REMOVE: CmdDef = CmdDef {
    args: &["rule"],
    params: &[RULE_ID, FORCE],
    format_options: false,
    class: Class::Rules,
    about: "Delete HA rule.",
    run: rules::remove,
};

/// `help`.
pub static HELP: CmdDef = CmdDef {
    args: &["extra-args"],
    params: &[
        opt(
            "extra-args",
            Kind::Rest,
            "Shows help for a specific command",
        ),
        opt("verbose", Kind::Bool, "Verbose output format."),
    ],
    format_options: false,
    class: Class::Handler,
    about: "Get help about specified command.",
    run: super::help,
};

/// `crm-command node-maintenance`.
const NODE_MAINTENANCE: &[(&str, Entry)] = &[
    ("enable", Entry::Cmd(&MAINTENANCE_ENABLE)),
    ("disable", Entry::Cmd(&MAINTENANCE_DISABLE)),
];

/// `crm-command`.
const CRM_COMMAND: &[(&str, Entry)] = &[
    ("migrate", Entry::Cmd(&MIGRATE)),
    ("relocate", Entry::Cmd(&RELOCATE)),
    ("stop", Entry::Cmd(&STOP)),
    ("node-maintenance", Entry::Group(NODE_MAINTENANCE)),
    ("disarm-ha", Entry::Cmd(&DISARM)),
    ("arm-ha", Entry::Cmd(&ARM)),
];

/// `rules`.
const RULES: &[(&str, Entry)] = &[
    ("list", Entry::Cmd(&RULES_LIST)),
    ("config", Entry::Cmd(&RULES_CONFIG)),
    ("add", Entry::Cmd(&RULES_ADD)),
    ("set", Entry::Cmd(&RULES_SET)),
    ("remove", Entry::Cmd(&RULES_REMOVE)),
];

/// `what-if` (our extension).
const WHAT_IF: &[(&str, Entry)] = &[
    ("node-down", Entry::Cmd(&WHAT_IF_NODE_DOWN)),
    ("maintenance", Entry::Cmd(&WHAT_IF_MAINTENANCE)),
    ("rules", Entry::Cmd(&WHAT_IF_RULES)),
    ("crs", Entry::Cmd(&WHAT_IF_CRS)),
];

/// The top level of the tree, `help` included (upstream adds it to every
/// tool).
pub const TOP: &[(&str, Entry)] = &[
    ("status", Entry::Cmd(&STATUS)),
    ("config", Entry::Cmd(&CONFIG)),
    ("add", Entry::Cmd(&ADD)),
    ("set", Entry::Cmd(&SET)),
    ("remove", Entry::Cmd(&REMOVE)),
    ("migrate", Entry::Alias(&["crm-command", "migrate"])),
    ("relocate", Entry::Alias(&["crm-command", "relocate"])),
    ("crm-command", Entry::Group(CRM_COMMAND)),
    ("groupconfig", Entry::Cmd(&GROUPCONFIG)),
    ("groupadd", Entry::Cmd(&GROUPADD)),
    ("groupset", Entry::Cmd(&GROUPSET)),
    ("groupremove", Entry::Cmd(&GROUPREMOVE)),
    ("rules", Entry::Group(RULES)),
    ("what-if", Entry::Group(WHAT_IF)),
    ("help", Entry::Cmd(&HELP)),
];

/// The tool's name in usage texts.
pub const EXE: &str = "ha-manager";

/// What one command word expands to at a level.
#[derive(Debug, Clone, Copy)]
pub enum Expansion {
    /// An exact name, or the prefix of exactly one non-alias name.
    Found(&'static str, Entry),
    /// The prefix of several names: resolution stays at this level.
    Ambiguous,
    /// Matches nothing.
    None,
}

/// Expands one command word at a level (upstream `expand_command_name`):
/// an exact name wins; otherwise the word must be the prefix of exactly
/// one non-alias name.
pub fn expand(level: &'static [(&'static str, Entry)], word: &str) -> Expansion {
    if let Some((n, e)) = level.iter().find(|(n, _)| *n == word) {
        return Expansion::Found(n, *e);
    }
    let hits: Vec<&(&'static str, Entry)> = level
        .iter()
        .filter(|(n, e)| n.starts_with(word) && !matches!(e, Entry::Alias(_)))
        .collect();
    match hits.as_slice() {
        [] => Expansion::None,
        [(n, e)] => Expansion::Found(n, *e),
        _ => Expansion::Ambiguous,
    }
}

/// The result of resolving the command words.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// A real command: its definition, its full name (`ha-manager
    /// crm-command migrate`) and the remaining arguments.
    Cmd(&'static CmdDef, String, Vec<String>),
    /// The words stopped at a command group.
    Incomplete(String),
    /// A word resolved to nothing; the name up to that word.
    Unknown(String),
}

/// Resolves the command words (upstream `resolve_cmd`): each word is
/// expanded at its level; an alias is replaced by its expansion and
/// resolution starts over.
pub fn resolve(args: &[String]) -> Resolved {
    let mut words: Vec<String> = args.to_vec();
    'restart: loop {
        let mut level: &'static [(&'static str, Entry)] = TOP;
        let mut name = EXE.to_string();
        for i in 0..words.len() {
            name.push(' ');
            match expand(level, &words[i]) {
                Expansion::None => {
                    name.push_str(&words[i]);
                    return Resolved::Unknown(name);
                }
                // Several commands share the prefix: the word is kept and
                // resolution stays here, so the command is incomplete.
                Expansion::Ambiguous => name.push_str(&words[i]),
                Expansion::Found(n, entry) => {
                    name.push_str(n);
                    match entry {
                        Entry::Cmd(def) => {
                            return Resolved::Cmd(def, name, words[i + 1..].to_vec())
                        }
                        Entry::Group(next) => level = next,
                        Entry::Alias(exp) => {
                            let rest = words.split_off(i + 1);
                            words.truncate(i);
                            words.extend(exp.iter().map(|s| s.to_string()));
                            words.extend(rest);
                            continue 'restart;
                        }
                    }
                }
            }
        }
        return Resolved::Incomplete(name);
    }
}

/// Every real command with its full name, in listing order (06 §9.7a):
/// at each level the command groups first (by name), then the real
/// commands by implementing part and name; aliases are left out. Each item
/// carries whether a blank line precedes it.
pub fn listing() -> Vec<(bool, String, &'static CmdDef)> {
    let mut out = Vec::new();
    collect(TOP, EXE, true, &mut out);
    out
}

fn collect(
    level: &[(&'static str, Entry)],
    prefix: &str,
    top: bool,
    out: &mut Vec<(bool, String, &'static CmdDef)>,
) {
    let mut groups: Vec<&(&str, Entry)> = level
        .iter()
        .filter(|(_, e)| matches!(e, Entry::Group(_)))
        .collect();
    groups.sort_by_key(|(n, _)| *n);
    let mut cmds: Vec<(&str, &'static CmdDef)> = level
        .iter()
        .filter_map(|(n, e)| match e {
            Entry::Cmd(d) => Some((*n, *d)),
            _ => None,
        })
        .collect();
    cmds.sort_by(|a, b| (a.1.class, a.0).cmp(&(b.1.class, b.0)));
    for (name, e) in groups {
        if let Entry::Group(next) = e {
            let start = out.len();
            collect(next, &format!("{prefix} {name}"), false, out);
            // A blank line follows each top-level group's block.
            if top && out.len() > start {
                out.push((false, String::new(), &HELP));
            }
        }
    }
    let mut last: Option<Class> = None;
    for (name, def) in cmds {
        let blank = top && last.is_some_and(|c| c != def.class);
        out.push((blank, format!("{prefix} {name}"), def));
        last = Some(def.class);
    }
}

/// The short usage listing printed after `ERROR:` lines and by `help`
/// (06 §9.7a).
pub fn usage_listing() -> String {
    let mut s = format!("USAGE: {EXE} <COMMAND> [ARGS] [OPTIONS]\n\n");
    for (blank, name, def) in listing() {
        if name.is_empty() {
            s.push('\n');
            continue;
        }
        if blank {
            s.push('\n');
        }
        s.push_str("       ");
        s.push_str(&def.usage(&name));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn name(s: &str) -> String {
        match resolve(&words(s)) {
            Resolved::Cmd(_, n, _) => format!("cmd {n}"),
            Resolved::Incomplete(n) => format!("incomplete {n}"),
            Resolved::Unknown(n) => format!("unknown {n}"),
        }
    }

    #[test]
    fn prefixes_and_aliases() {
        assert_eq!(name("sta"), "cmd ha-manager status");
        assert_eq!(name("s"), "incomplete ha-manager s");
        assert_eq!(name("c"), "incomplete ha-manager c");
        assert_eq!(name("re"), "cmd ha-manager remove");
        assert_eq!(name("rel"), "unknown ha-manager rel");
        assert_eq!(name("h"), "cmd ha-manager help");
        assert_eq!(name("crm"), "incomplete ha-manager crm-command");
        assert_eq!(name("foo bar"), "unknown ha-manager foo");
        assert_eq!(
            name("migrate vm:100 node2"),
            "cmd ha-manager crm-command migrate"
        );
        assert_eq!(
            name("crm-command node-m e n1"),
            "cmd ha-manager crm-command node-maintenance enable"
        );
        assert_eq!(name("rules"), "incomplete ha-manager rules");
    }

    #[test]
    fn usage_lines() {
        assert_eq!(
            ADD.usage("ha-manager add"),
            "ha-manager add <sid> [OPTIONS]"
        );
        assert_eq!(
            STATUS.usage("ha-manager status"),
            "ha-manager status  [OPTIONS]"
        );
        assert_eq!(
            RULES_LIST.usage("ha-manager rules list"),
            "ha-manager rules list  [OPTIONS] [FORMAT_OPTIONS]"
        );
        assert_eq!(
            ARM.usage("ha-manager crm-command arm-ha"),
            "ha-manager crm-command arm-ha "
        );
    }
}
