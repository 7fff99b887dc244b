//! Shell-style word splitting and quoting for fence.cfg argument strings,
//! matching the Perl modules upstream relies on (06 §6.1 rule 4, §6.4).
//!
//! Upstream splits with `PVE::Tools::split_args`, i.e. Text::ParseWords'
//! `shellwords`, and quotes with String::ShellQuote. Both differ from a real
//! POSIX shell in corners that change results, so they are reproduced here
//! rather than approximated:
//!
//! * backslash escapes are removed everywhere except inside single quotes,
//!   where `\x` is kept verbatim but `\'` does not end the quoted string;
//! * an unbalanced quote or a trailing lone backslash makes the *whole*
//!   string split into no words at all;
//! * the argument string `0` is false in Perl and splits into no words.
//!
//! All character classes are Perl's on byte strings: only ASCII characters
//! are whitespace or word characters; anything else is an ordinary character.

use super::FenceError;

/// Perl's `\s` on a byte string: space, `\t`, `\n`, `\x0B`, `\x0C`, `\r`.
pub fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// Perl's `\w` on a byte string: `[A-Za-z0-9_]`.
pub fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `PVE::Tools::split_args`: the words of an argument string, or none for
/// the Perl-false strings `""` and `"0"` (06 §6.1 rule 4).
pub fn split_args(s: &str) -> Vec<String> {
    if !crate::types::perl::truthy(s) {
        return Vec::new();
    }
    shellwords(s)
}

/// Text::ParseWords `shellwords` on one string: leading whitespace is
/// dropped, words are separated by runs of whitespace, quotes are removed
/// and quoted parts glue onto adjacent text. Unparsable input (unbalanced
/// quote, trailing lone backslash) gives no words at all.
pub fn shellwords(s: &str) -> Vec<String> {
    let line = s.trim_start_matches(is_space);
    if line.is_empty() {
        return Vec::new();
    }
    let Some(mut pieces) = parse_line(line) else {
        return Vec::new();
    };
    // A trailing delimiter leaves an undefined last piece, which
    // `shellwords` pops; pieces in the middle are always defined.
    if matches!(pieces.last(), Some(None)) {
        pieces.pop();
    }
    pieces.into_iter().map(Option::unwrap_or_default).collect()
}

/// One step of `parse_line`: the text a piece contributes to the current
/// word, how many bytes it consumed and whether it ended the word.
struct Piece {
    /// The text with quotes removed and escapes resolved.
    text: String,
    /// Bytes of the input consumed, delimiter included.
    consumed: usize,
    /// The piece came from a quoted string (which may be empty).
    quoted: bool,
    /// Length of the whitespace delimiter that followed (0 for none, end of
    /// input, or a following quote).
    delim_len: usize,
}

/// Text::ParseWords `parse_line('\s+', 0, line)`: `None` when the pattern
/// fails somewhere (upstream returns an empty list then). `None` pieces are
/// Perl's `undef`.
fn parse_line(line: &str) -> Option<Vec<Option<String>>> {
    let mut rest = line;
    let mut word: Option<String> = None;
    let mut pieces = Vec::new();
    while !rest.is_empty() {
        let piece = next_piece(rest)?;
        if !piece.quoted && piece.text.is_empty() && piece.delim_len == 0 {
            return None;
        }
        word.get_or_insert_with(String::new).push_str(&piece.text);
        rest = rest.get(piece.consumed..).unwrap_or("");
        if piece.delim_len > 0 {
            pieces.push(word.take());
        }
        if rest.is_empty() {
            pieces.push(word.take());
        }
    }
    Some(pieces)
}

/// Matches the next piece at the start of `rest` (non-empty): a double
/// quoted string, a single quoted string, or unquoted text followed by a
/// delimiter, tried in that order like the upstream regex.
fn next_piece(rest: &str) -> Option<Piece> {
    for quote in ['"', '\''] {
        if rest.starts_with(quote) {
            if let Some(end) = quoted_end(rest, quote) {
                let body = rest.get(1..end).unwrap_or("");
                let text = if quote == '"' {
                    unescape(body)
                } else {
                    // Single quotes keep backslashes (no
                    // $PERL_SINGLE_QUOTE upstream).
                    body.to_string()
                };
                return Some(Piece {
                    text,
                    consumed: end + 1,
                    quoted: true,
                    delim_len: 0,
                });
            }
        }
    }
    // Unquoted text: the shortest run of escaped characters and
    // non-quote, non-backslash characters followed by a delimiter.
    let mut pos = 0;
    loop {
        let mut chars = rest.get(pos..).unwrap_or("").chars();
        let Some(c) = chars.next() else {
            // End of input.
            return Some(unquoted(rest, pos, 0));
        };
        if is_space(c) {
            let delim_len: usize = rest
                .get(pos..)
                .unwrap_or("")
                .chars()
                .take_while(|&c| is_space(c))
                .map(char::len_utf8)
                .sum();
            return Some(unquoted(rest, pos, delim_len));
        }
        if c == '"' || c == '\'' {
            // A quote ends unquoted text (zero-width delimiter), but not
            // at the very start: there it is an unbalanced quote.
            return (pos > 0).then(|| unquoted(rest, pos, 0));
        }
        if c == '\\' {
            let next = chars.next()?;
            pos += 1 + next.len_utf8();
        } else {
            pos += c.len_utf8();
        }
    }
}

/// The piece for unquoted text `rest[..len]` followed by a delimiter of
/// `delim_len` bytes.
fn unquoted(rest: &str, len: usize, delim_len: usize) -> Piece {
    Piece {
        text: unescape(rest.get(..len).unwrap_or("")),
        consumed: len + delim_len,
        quoted: false,
        delim_len,
    }
}

/// The byte index of the quote closing the string that opens `s`, where a
/// backslash always protects the next character; `None` if unterminated.
fn quoted_end(s: &str, quote: char) -> Option<usize> {
    let mut it = s.char_indices().skip(1);
    while let Some((i, c)) = it.next() {
        if c == '\\' {
            it.next()?;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

/// Perl's `s/\\(.)/$1/sg`: every backslash escape is replaced by the
/// escaped character.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some(n) => out.push(n),
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// String::ShellQuote `shell_quote` of one string (06 §6.4). Fails like
/// upstream for a string containing NUL, which no shell word can hold.
pub fn shell_quote(s: &str) -> Result<String, FenceError> {
    if s.contains('\0') {
        return Err(FenceError::NulByte);
    }
    Ok(shell_quote_lossy(s))
}

/// [`shell_quote`] that drops NUL characters instead of failing (what
/// String::ShellQuote does before it reports the error).
pub fn shell_quote_lossy(s: &str) -> String {
    // The empty check comes before NUL removal upstream, so "\0" quotes
    // to the empty string.
    if s.is_empty() {
        return "''".to_string();
    }
    let s: String = s.chars().filter(|&c| c != '\0').collect();
    // `=` always forces quoting for a lone string (it could be taken for
    // an environment assignment); so does anything outside the safe set,
    // including every non-ASCII character.
    let bare = s.chars().all(|c| is_word(c) || "!%+,-./:@^".contains(c));
    if bare {
        return s;
    }
    let escaped = s.replace('\'', r"'\''");
    let escaped = collapse_quote_runs(&escaped);
    let quoted = format!("'{escaped}'");
    let quoted = quoted.strip_prefix("''").unwrap_or(&quoted);
    let quoted = quoted.strip_suffix("''").unwrap_or(quoted);
    quoted.to_string()
}

/// `s|((?:'\\''){2,})|q{'"} . (q{'} x (length($1) / 4)) . q{"'}|ge`: runs
/// of two or more `'\''` become `'"''…"'`.
fn collapse_quote_runs(s: &str) -> String {
    const UNIT: &str = r"'\''";
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(rest) = s.get(i..) {
        let Some(c) = rest.chars().next() else { break };
        let mut n = 0;
        while rest
            .get(n * UNIT.len()..)
            .is_some_and(|r| r.starts_with(UNIT))
        {
            n += 1;
        }
        if n >= 2 {
            out.push_str("'\"");
            out.push_str(&"'".repeat(n));
            out.push_str("\"'");
            i += n * UNIT.len();
        } else {
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        shellwords(s)
    }

    #[test]
    fn splits_on_whitespace_runs() {
        assert_eq!(words("  a \t b\r\x0Bc  "), ["a", "b", "c"]);
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words(" \t "), Vec::<String>::new());
    }

    #[test]
    fn double_quotes_resolve_every_escape() {
        assert_eq!(
            words(r#"ip="192.168.15.38" password="12\"345""#),
            ["ip=192.168.15.38", r#"password=12"345"#]
        );
        assert_eq!(words(r#""a\b c""#), ["ab c"]);
        assert_eq!(words(r#""" x"#), ["", "x"]);
    }

    #[test]
    fn single_quotes_keep_backslashes() {
        assert_eq!(words(r"'a b\c'"), [r"a b\c"]);
        // `\'` does not close a single-quoted string.
        assert_eq!(words(r"'it\'s'"), [r"it\'s"]);
        assert_eq!(words("'\"'"), ["\""]);
    }

    #[test]
    fn unquoted_escapes_and_glued_parts() {
        assert_eq!(words(r"a\ b c\\d"), ["a b", r"c\d"]);
        assert_eq!(words(r#"x"y z"'w'v"#), ["xy zwv"]);
        assert_eq!(words(r"'it'\''s'"), ["it's"]);
        assert_eq!(words("'a'\"''\"'b'"), ["a''b"]);
    }

    #[test]
    fn unparsable_input_gives_no_words() {
        assert_eq!(words(r#"a "b"#), Vec::<String>::new());
        assert_eq!(words("a 'b"), Vec::<String>::new());
        assert_eq!(words(r"a b\"), Vec::<String>::new());
        assert_eq!(words(r"'a\'"), Vec::<String>::new());
    }

    #[test]
    fn perl_false_argument_string_splits_into_nothing() {
        assert_eq!(split_args("0"), Vec::<String>::new());
        assert_eq!(split_args(""), Vec::<String>::new());
        assert_eq!(split_args("00"), ["00"]);
        assert_eq!(split_args(" 0"), ["0"]);
    }

    #[test]
    fn non_ascii_is_not_whitespace() {
        assert_eq!(words("f\u{a0}g h\u{3000}i"), ["f\u{a0}g", "h\u{3000}i"]);
    }

    #[test]
    fn quoting_examples_from_the_spec() {
        let q = |s: &str| shell_quote(s).unwrap_or_default();
        assert_eq!(q("192.168.15.38"), "192.168.15.38");
        assert_eq!(q("12\"345"), "'12\"345'");
        assert_eq!(q("f䶵₂,"), "'f䶵₂,'");
        assert_eq!(q("ip=1"), "'ip=1'");
        assert_eq!(q(""), "''");
        assert_eq!(q("a-b_c!%+,./:@^"), "a-b_c!%+,./:@^");
    }

    #[test]
    fn quoting_single_quotes() {
        let q = |s: &str| shell_quote(s).unwrap_or_default();
        assert_eq!(q("it's"), r"'it'\''s'");
        assert_eq!(q("'a"), r"\''a'");
        assert_eq!(q("a'"), r"'a'\'");
        assert_eq!(q("'"), r"\'");
        assert_eq!(q("''"), "\"''\"");
        assert_eq!(q("a'''b"), "'a'\"'''\"'b'");
        assert_eq!(q("a b"), "'a b'");
    }

    #[test]
    fn quoting_refuses_nul() {
        assert_eq!(shell_quote("a\0b"), Err(FenceError::NulByte));
        assert_eq!(shell_quote_lossy("a\0b"), "ab");
        assert_eq!(shell_quote_lossy("\0"), "");
    }

    #[test]
    fn quoted_words_split_back() {
        for s in [
            "it's",
            "''",
            "a'''b",
            "x y",
            "\"",
            "=",
            "ä",
            r"a\b",
            "tab\there",
        ] {
            let q = shell_quote_lossy(s);
            assert_eq!(words(&q), [s], "{q}");
        }
    }
}
