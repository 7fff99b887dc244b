//! Man pages rendered from the roles' clap definitions (07 §8.4).
//!
//! clap_mangen's own subcommand section points at one page per subcommand
//! (`pve-ha-crm-start(8)`), pages nobody installs; a page must refer only
//! to pages that exist, so the subcommands are listed here by name instead,
//! inside the tool's own page.

use std::io::{self, Write};

/// Renders `cmd` as a man page of `section` (roff).
pub fn render(cmd: clap::Command, section: &str) -> io::Result<String> {
    let man = clap_mangen::Man::new(cmd.clone()).section(section);
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut buf)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        writeln!(buf, ".SH SUBCOMMANDS")?;
        subcommands(&mut buf, "", &cmd)?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut buf)?;
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Lists `cmd`'s visible subcommands, nested ones under their full path
/// (`crm-command node-maintenance`), each with its one-line description.
fn subcommands(buf: &mut Vec<u8>, prefix: &str, cmd: &clap::Command) -> io::Result<()> {
    for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let path = format!("{prefix}{}", s.get_name());
        writeln!(buf, ".TP\n\\fB{}\\fR", escape(&path))?;
        if let Some(about) = s.get_about() {
            writeln!(buf, "{}", escape(&about.to_string()))?;
        }
        subcommands(buf, &format!("{path} "), s)?;
    }
    Ok(())
}

/// Escapes text for roff: backslashes, hyphens (so they stay ASCII
/// hyphens) and a leading control character.
fn escape(text: &str) -> String {
    let s = text.replace('\\', "\\\\").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_are_listed_without_pages_of_their_own() {
        let cmd = clap::Command::new("tool")
            .version("1")
            .subcommand(clap::Command::new("start").about("Start it."))
            .subcommand(
                clap::Command::new("node")
                    .about("Node commands.")
                    .subcommand(clap::Command::new("off").about("Power off.")),
            );
        let page = render(cmd, "8").expect("renders");
        assert!(page.contains(".SH SUBCOMMANDS\n.TP\n\\fBstart\\fR\nStart it.\n"));
        assert!(
            page.contains(".TP\n\\fBnode off\\fR\nPower off.\n"),
            "{page}"
        );
        assert!(!page.contains("tool\\-start("), "{page}");
    }

    #[test]
    fn escapes_hyphens_and_leading_dots() {
        assert_eq!(escape("a-b"), "a\\-b");
        assert_eq!(escape(".x"), "\\&.x");
    }
}
