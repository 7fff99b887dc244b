//! A small line-based unified diff (`diff -u` style) for the tester's
//! mismatch report: expected log versus produced log.

/// One edit of the line script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Line present in both (old index, new index).
    Keep(usize, usize),
    /// Line only in the old text.
    Del(usize),
    /// Line only in the new text.
    Add(usize),
}

/// Above this many cells the middle part is not aligned line by line but
/// reported as one replaced block (keeps pathological inputs cheap).
const MAX_TABLE: usize = 16_000_000;

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// Splits into lines without their terminators.
fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// The edit script turning `a` into `b`: common prefix and suffix are
/// trimmed first, the middle is aligned by a longest-common-subsequence
/// table.
fn script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        pre += 1;
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf]
    {
        suf += 1;
    }
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut ops: Vec<Op> = (0..pre).map(|i| Op::Keep(i, i)).collect();
    let (n, m) = (ma.len(), mb.len());
    if (n + 1).saturating_mul(m + 1) > MAX_TABLE {
        ops.extend((0..n).map(|i| Op::Del(pre + i)));
        ops.extend((0..m).map(|j| Op::Add(pre + j)));
    } else {
        // lcs[i][j] = LCS length of ma[i..] and mb[j..].
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if ma[i] == mb[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && ma[i] == mb[j] {
                ops.push(Op::Keep(pre + i, pre + j));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                // Deletions first, as `diff -u` prints them.
                ops.push(Op::Del(pre + i));
                i += 1;
            } else {
                ops.push(Op::Add(pre + j));
                j += 1;
            }
        }
    }
    let (oa, ob) = (a.len() - suf, b.len() - suf);
    ops.extend((0..suf).map(|k| Op::Keep(oa + k, ob + k)));
    ops
}

/// Hunk header range: `start,len` with `diff -u`'s conventions (a
/// zero-length range names the line before it).
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

/// The unified diff from `old` to `new` with headers naming them; empty
/// when the texts are equal line by line.
pub fn unified_diff(old_name: &str, old: &str, new_name: &str, new: &str) -> String {
    let (a, b) = (lines(old), lines(new));
    let ops = script(&a, &b);
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Keep(..)))
        .map(|(k, _)| k)
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    // Group changes whose context windows touch into one hunk.
    let mut k = 0;
    while k < changed.len() {
        let first = changed[k];
        let mut last = first;
        while k + 1 < changed.len() && changed[k + 1] <= last + 2 * CONTEXT + 1 {
            k += 1;
            last = changed[k];
        }
        k += 1;
        let lo = first.saturating_sub(CONTEXT);
        let hi = (last + CONTEXT + 1).min(ops.len());
        let hunk = &ops[lo..hi];
        // Old/new starting positions: the first line index of each side at
        // or after the hunk start.
        let old_start = ops[..lo]
            .iter()
            .filter(|op| matches!(op, Op::Keep(..) | Op::Del(_)))
            .count();
        let new_start = ops[..lo]
            .iter()
            .filter(|op| matches!(op, Op::Keep(..) | Op::Add(_)))
            .count();
        let old_len = hunk
            .iter()
            .filter(|op| matches!(op, Op::Keep(..) | Op::Del(_)))
            .count();
        let new_len = hunk
            .iter()
            .filter(|op| matches!(op, Op::Keep(..) | Op::Add(_)))
            .count();
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(old_start, old_len),
            range(new_start, new_len)
        ));
        for op in hunk {
            match *op {
                Op::Keep(i, _) => {
                    out.push(' ');
                    out.push_str(a[i]);
                }
                Op::Del(i) => {
                    out.push('-');
                    out.push_str(a[i]);
                }
                Op::Add(j) => {
                    out.push('+');
                    out.push_str(b[j]);
                }
            }
            out.push('\n');
        }
    }
    out
}

/// The first line number (1-based) where the two texts differ, with both
/// lines (`None` past the end of a text); `None` if they are equal.
pub fn first_difference<'a>(
    old: &'a str,
    new: &'a str,
) -> Option<(usize, Option<&'a str>, Option<&'a str>)> {
    let (mut a, mut b) = (old.split_inclusive('\n'), new.split_inclusive('\n'));
    let mut n = 0;
    loop {
        n += 1;
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some((
                    n,
                    x.map(|l| l.trim_end_matches('\n')),
                    y.map(|l| l.trim_end_matches('\n')),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_give_no_diff() {
        assert_eq!(unified_diff("a", "x\ny\n", "b", "x\ny\n"), "");
        assert_eq!(first_difference("x\ny\n", "x\ny\n"), None);
    }

    #[test]
    fn one_changed_line_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            unified_diff("log.expect", old, "status/log", new),
            "--- log.expect\n+++ status/log\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
        assert_eq!(
            first_difference(old, new),
            Some((5, Some("5"), Some("five")))
        );
    }

    #[test]
    fn insertions_deletions_and_separate_hunks() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let mut v: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
        v.insert(2, "new".into());
        v.retain(|l| l != "18");
        let new: String = v.iter().map(|l| format!("{l}\n")).collect();
        let d = unified_diff("a", &old, "b", &new);
        assert_eq!(
            d,
            "--- a\n+++ b\n@@ -1,5 +1,6 @@\n 1\n 2\n+new\n 3\n 4\n 5\n@@ -15,6 +16,5 @@\n 15\n 16\n 17\n-18\n 19\n 20\n"
        );
    }

    #[test]
    fn empty_sides() {
        assert_eq!(
            unified_diff("a", "", "b", "x\n"),
            "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n"
        );
        assert_eq!(
            unified_diff("a", "x\n", "b", ""),
            "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n"
        );
        assert_eq!(first_difference("x\n", ""), Some((1, Some("x"), None)));
    }
}
