//! One test per golden case in `tests/fixtures/cli/cases/` (see
//! `harness::check` for the case syntax).

use super::harness::check;

macro_rules! golden {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check($file);
            }
        )*
    };
}

golden! {
    acceptance_session => "acceptance",
    command_resolution => "resolution",
    argument_errors => "arguments",
    resources_add => "resources-add",
    ocf_on_pve_backend => "ocf",
    resources_set => "resources-set",
    resources_remove => "resources-remove",
    resources_config => "resources-config",
    status_populated => "status",
    status_disarmed => "status-special",
    status_idle_master => "status-idle",
    status_hostile_timestamps => "status-hostile",
    rules_listing => "rules-list",
    rules_listing_utf8 => "rules-list-utf8",
    rules_editing => "rules-edit",
    crm_commands => "crm-commands",
    motion_output => "motion",
    groups_deprecated => "groups",
    malformed_files => "malformed",
    malformed_files_refused => "malformed-refused",
    no_quorum => "noquorum",
    not_mounted => "unmounted",
    help_texts => "help",
}
