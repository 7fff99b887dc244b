//! The rules checker conformance report of 04 §6.6: parse, check and
//! transform for `node1`..`node3`, compile, and print log, config and
//! compiled config.

use serde_json::{json, Map, Value as Json};

use crate::config::rules::{RulesConfig, RulesFormat};
use crate::crm::placement::rules::CompiledRules;
use crate::types::perl::json::{self, Floats, Layout};

/// The node list of the conformance harness (04 §6.6 step 2).
pub const REPORT_NODES: [&str; 3] = ["node1", "node2", "node3"];

/// The config object as upstream prints it (04 §6.6): `digest`, `ids`
/// (null for a section that failed its check), `order`, and `errors` only
/// when the parser recorded property errors (06 §2.2 step 4), each as
/// `{context, section, key, err}` with the error's trailing newline.
pub fn config_to_json(file: &str, rules: &RulesConfig) -> Json {
    let ids: Map<String, Json> = rules
        .ids
        .iter()
        .map(|(id, rule)| {
            (
                id.clone(),
                rule.as_ref().map_or(Json::Null, |r| r.to_json()),
            )
        })
        .collect();
    let order: Map<String, Json> = rules
        .order
        .iter()
        .map(|(id, n)| (id.clone(), json!(n)))
        .collect();
    let mut m = Map::new();
    m.insert("digest".into(), json!(rules.digest));
    m.insert("ids".into(), Json::Object(ids));
    m.insert("order".into(), Json::Object(order));
    if !rules.errors.is_empty() {
        let errors: Vec<Json> = rules
            .errors
            .iter()
            .map(|e| {
                json!({
                    "context": format!("file {file} line {}", e.line),
                    "section": e.section,
                    "key": e.key,
                    "err": format!("{}\n", e.err),
                })
            })
            .collect();
        m.insert("errors".into(), Json::Array(errors));
    }
    Json::Object(m)
}

/// The complete report for one rules file (04 §6.6). `file` is the name
/// the file is parsed under (`rules_cfgs/<name>.cfg` in the harness); it
/// only shows in parse error contexts. Parser warnings go nowhere, as
/// upstream's go to stderr.
pub fn rules_config_report(file: &str, raw: &[u8]) -> String {
    let nodes: Vec<String> = REPORT_NODES.iter().map(|n| n.to_string()).collect();
    let parsed = RulesFormat.parse(file, raw);
    let (rules, messages) = super::check_rules(parsed.value, &nodes);
    let compiled = CompiledRules::compile(&rules, &nodes);
    let mut out = String::from("--- Log ---\n");
    for m in &messages {
        out.push_str(m);
        out.push('\n');
    }
    out.push_str("--- Config ---\n");
    out.push_str(&perl_pretty(&config_to_json(file, &rules)));
    out.push_str("--- Compiled Config ---\n");
    out.push_str(&perl_pretty(&compiled.to_json()));
    out
}

/// Perl's canonical pretty JSON, the report's form (04 §6.6).
fn perl_pretty(v: &Json) -> String {
    json::write(v, Layout::Pretty, Floats::Perl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file() {
        assert_eq!(
            rules_config_report("rules_cfgs/empty.cfg", b""),
            "--- Log ---\n--- Config ---\n{\n   \"digest\" : \"da39a3ee5e6b4b0d3255bfef95601890afd80709\",\n   \"ids\" : {},\n   \"order\" : {}\n}\n\
             --- Compiled Config ---\n{\n   \"node-affinity\" : {},\n   \"resource-affinity\" : {\n      \"negative\" : {},\n      \"positive\" : {}\n   }\n}\n"
        );
    }

    #[test]
    fn drop_messages_lead_the_report() {
        let r = rules_config_report(
            "rules_cfgs/x.cfg",
            b"resource-affinity: lonely\n\tresources vm:101\n\taffinity positive\n",
        );
        assert!(r.starts_with(
            "--- Log ---\nDrop rule 'lonely', because rule is ineffective as there are less than two resources.\n--- Config ---\n"
        ));
        assert!(r.contains("   \"ids\" : {},\n   \"order\" : {}\n"));
    }

    #[test]
    fn parse_errors_and_null_sections_are_shown() {
        let r = rules_config_report(
            "rules_cfgs/bad.cfg",
            b"node-affinity: a1\n\tresources vm:1\n\tnodes node1\n\tstrict maybe\n\nresource-affinity: r3\n\tresources vm:1,vm:2\n",
        );
        assert!(
            r.contains("   \"errors\" : [\n      {\n         \"context\" : \"file rules_cfgs/bad.cfg line 4\",\n         \"err\" : \"type check ('boolean') failed - got 'maybe'\\n\",\n         \"key\" : \"strict\",\n         \"section\" : \"a1\"\n      }\n   ],\n"),
            "{r}"
        );
        assert!(r.contains("      \"r3\" : null\n"), "{r}");
    }
}
