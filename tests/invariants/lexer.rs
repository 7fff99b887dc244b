//! Just enough of a Rust lexer for the house-rule checks: comments and
//! literal contents blanked (so a word inside a string or comment never
//! counts, and a brace inside one never unbalances), `#[cfg(test)]` items
//! removed by matching their braces (never by cutting the file), tokens
//! with line numbers, and the paths the code names with `use` groups
//! expanded.

/// `text` with comments and the contents of string, byte-string, raw
/// string and character literals replaced by spaces. Newlines stay, so
/// line numbers do not move; lifetimes (`'static`) stay.
pub fn blank_comments_and_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = c.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for ch in &mut out[from..to.min(c.len())] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let ident = |i: usize| i < c.len() && (c[i].is_alphanumeric() || c[i] == '_');
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        match c[i] {
            '/' if next == Some('/') => {
                let end = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len());
                blank(&mut out, i, end);
                i = end;
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                let mut j = i;
                while j < c.len() {
                    if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                        depth += 1;
                        j += 2;
                    } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                blank(&mut out, i, j);
                i = j;
            }
            'r' if (i == 0 || !ident(i - 1) || (c[i - 1] == 'b' && (i < 2 || !ident(i - 2))))
                && matches!(next, Some('"' | '#')) =>
            {
                // Raw string: r"…", r#"…"#, br##"…"##.
                let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
                let open = i + 1 + hashes;
                if c.get(open) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let mut j = open + 1;
                while j < c.len() {
                    if c[j] == '"'
                        && c[j + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&h| h == '#')
                            .count()
                            == hashes
                    {
                        break;
                    }
                    j += 1;
                }
                blank(&mut out, open + 1, j);
                i = j + 1 + hashes;
            }
            '"' => {
                let mut j = i + 1;
                while j < c.len() && c[j] != '"' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j);
                i = j + 1;
            }
            '\'' => {
                // A character literal ('a', '{', '\n', '\u{7f}') or a
                // lifetime ('static), which stays.
                if next == Some('\\') {
                    // The character after the backslash belongs to the escape
                    // (`'\''`, `'\\'`).
                    let end = (i + 3..c.len()).find(|&j| c[j] == '\'').unwrap_or(c.len());
                    blank(&mut out, i + 1, end);
                    i = end + 1;
                } else if c.get(i + 2) == Some(&'\'') {
                    blank(&mut out, i + 1, i + 2);
                    i += 3;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.into_iter().collect()
}

/// `code` (already blanked) without the `#[cfg(test)]` items: each such
/// item, from its attribute to its closing brace or semicolon, becomes
/// spaces (newlines kept). Also returns the names of out-of-line test
/// modules (`#[cfg(test)] mod tests;`), whose files are test code too.
/// An item whose end cannot be found is an error, never a silent cut.
pub fn strip_cfg_test(code: &str) -> Result<(String, Vec<String>), String> {
    const ATTR: &str = "#[cfg(test)]";
    let mut out: Vec<char> = code.chars().collect();
    let c = out.clone();
    let mut test_mods = Vec::new();
    let mut search = 0;
    while let Some(pos) = find(&c, ATTR, search) {
        let start = pos;
        let mut i = pos + ATTR.chars().count();
        // Other attributes and the item's head up to `{` or `;` outside
        // parentheses and brackets (`fn f(x: [u8; 2]) {`).
        let mut nesting = 0i32;
        let end = loop {
            match c.get(i) {
                None => {
                    return Err(format!(
                        "no end of the #[cfg(test)] item at line {}",
                        line_of(&c, start)
                    ))
                }
                Some('(' | '[') => nesting += 1,
                Some(')' | ']') => nesting -= 1,
                Some(';') if nesting == 0 => {
                    let head: String = c[start + ATTR.len()..i].iter().collect();
                    let words: Vec<&str> = head.split_whitespace().collect();
                    if let [.., "mod", name] = words.as_slice() {
                        test_mods.push(name.to_string());
                    }
                    break i + 1;
                }
                Some('{') if nesting == 0 => {
                    break matching_brace(&c, i).ok_or_else(|| {
                        format!(
                            "unbalanced braces in the #[cfg(test)] item at line {}",
                            line_of(&c, start)
                        )
                    })? + 1
                }
                _ => {}
            }
            i += 1;
        };
        for ch in &mut out[start..end] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        search = end;
    }
    Ok((out.into_iter().collect(), test_mods))
}

fn find(c: &[char], pat: &str, from: usize) -> Option<usize> {
    let p: Vec<char> = pat.chars().collect();
    (from..c.len().saturating_sub(p.len() - 1)).find(|&i| c[i..].starts_with(&p))
}

fn line_of(c: &[char], at: usize) -> usize {
    c[..at].iter().filter(|&&ch| ch == '\n').count() + 1
}

/// The index of the `}` that closes the `{` at `open`.
fn matching_brace(c: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, &ch) in c.iter().enumerate().skip(open) {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// A token of blanked code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// An identifier or keyword.
    Ident(String),
    /// `::`.
    PathSep,
    /// A lifetime (`'static`), kept apart so `static` means the keyword.
    Lifetime,
    /// Any other character (numbers and literals are skipped).
    Punct(char),
}

/// The tokens of blanked code, each with its line number.
pub fn tokens(code: &str) -> Vec<(usize, Tok)> {
    let c: Vec<char> = code.chars().collect();
    let word = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_ascii_digit() {
            while i < c.len() && word(c[i]) {
                i += 1;
            }
        } else if word(ch) {
            let start = i;
            while i < c.len() && word(c[i]) {
                i += 1;
            }
            out.push((line, Tok::Ident(c[start..i].iter().collect())));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((line, Tok::PathSep));
            i += 2;
        } else if ch == '\'' && c.get(i + 1).is_some_and(|&n| word(n)) {
            i += 1;
            while i < c.len() && word(c[i]) {
                i += 1;
            }
            out.push((line, Tok::Lifetime));
        } else {
            out.push((line, Tok::Punct(ch)));
            i += 1;
        }
    }
    out
}

/// A path the code names (`crate::sim::Foo`, `super::super::x`,
/// `std::fs`), as its segments, with the inline modules (`mod m { … }`)
/// it stands in and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPath {
    pub line: usize,
    pub inline_mods: Vec<String>,
    pub segments: Vec<String>,
}

/// Every path of two or more segments, `use` groups expanded
/// (`use crate::{a::B, c}` names `crate::a::B` and `crate::c`).
pub fn paths(toks: &[(usize, Tok)]) -> Vec<NamedPath> {
    let mut out = Vec::new();
    // Inline modules: (name, brace depth inside them).
    let mut mods: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].1 {
            Tok::Punct('{') => {
                depth += 1;
                if let (Some(Tok::Ident(m)), Some(Tok::Ident(name))) = (
                    i.checked_sub(2).map(|k| &toks[k].1),
                    i.checked_sub(1).map(|k| &toks[k].1),
                ) {
                    if m == "mod" {
                        mods.push((name.clone(), depth));
                    }
                }
                i += 1;
            }
            Tok::Punct('}') => {
                if mods.last().is_some_and(|(_, d)| *d == depth) {
                    mods.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(_)
                if toks.get(i + 1).map(|t| &t.1) == Some(&Tok::PathSep)
                    && (i == 0 || toks[i - 1].1 != Tok::PathSep) =>
            {
                let inline: Vec<String> = mods.iter().map(|(n, _)| n.clone()).collect();
                let line = toks[i].0;
                let mut found = Vec::new();
                i = use_tree(toks, i, Vec::new(), &mut found);
                for segments in found.into_iter().filter(|s| s.len() > 1) {
                    out.push(NamedPath {
                        line,
                        inline_mods: inline.clone(),
                        segments,
                    });
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Reads one path or use tree from `i` with the segments read so far in
/// `prefix`; pushes every complete path to `out` and returns the index
/// after the tree.
fn use_tree(
    toks: &[(usize, Tok)],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match toks.get(i).map(|t| &t.1) {
            Some(Tok::Ident(s)) => {
                prefix.push(s.clone());
                i += 1;
            }
            Some(Tok::Punct('{')) => {
                // A group: trees separated by commas up to the matching `}`.
                i += 1;
                loop {
                    match toks.get(i).map(|t| &t.1) {
                        None => return i,
                        Some(Tok::Punct('}')) => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        // `x as y`: the alias is no path.
                        Some(Tok::Ident(w)) if w == "as" => i += 2,
                        Some(Tok::Ident(_)) => i = use_tree(toks, i, prefix.clone(), out),
                        Some(_) => i += 1,
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                out.push(prefix);
                return i + 1;
            }
            _ => {
                out.push(prefix);
                return i;
            }
        }
        if toks.get(i).map(|t| &t.1) == Some(&Tok::PathSep) {
            i += 1;
        } else {
            out.push(prefix);
            return i;
        }
    }
}
