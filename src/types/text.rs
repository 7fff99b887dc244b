//! Text rules shared by every format: what counts as whitespace, and the
//! list splitter used for every list value in files, CLI and API.

/// Whitespace as upstream's `\s` sees it in byte strings: space, TAB, LF,
/// VT, FF and CR. (Files are read as bytes there, so no Unicode spaces.)
pub fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Trims [`is_space`] characters from both ends.
pub fn trim(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Trims [`is_space`] characters from the end.
pub fn trim_end(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// Splits a list value (06 §2.3): on NUL bytes if the text has any,
/// otherwise `,` and `;` count as spaces and the text is split on runs of
/// whitespace. `node1:2,node2:1 node3:1;node4` gives four elements; an
/// empty text gives none.
pub fn split_list(text: &str) -> Vec<&str> {
    if text.contains('\0') {
        return text.split('\0').collect();
    }
    text.split(|c: char| c == ',' || c == ';' || is_space(c))
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_separators() {
        assert_eq!(
            split_list("node1:2,node2:1 node3:1;node4"),
            ["node1:2", "node2:1", "node3:1", "node4"]
        );
        assert_eq!(split_list("  a,,b  "), ["a", "b"]);
        assert!(split_list("").is_empty());
        assert_eq!(split_list("a,b\0c"), ["a,b", "c"]);
    }
}
