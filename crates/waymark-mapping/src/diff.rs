//! A small line differ for fixture mismatches: longest common subsequence over lines, printed
//! as a unified diff (`---`/`+++`, `@@ -a,b +c,d @@` hunks with context).

/// One line of an edit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Same(usize, usize),
    Delete(usize),
    Insert(usize),
}

/// Above this many cells the middle part is shown as replaced wholesale.
const MAX_CELLS: usize = 4_000_000;

/// The edit script turning `a` into `b`.
fn edits(a: &[&str], b: &[&str]) -> Vec<Edit> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut script: Vec<Edit> = (0..prefix).map(|i| Edit::Same(i, i)).collect();
    if am.len().saturating_mul(bm.len()) > MAX_CELLS {
        script.extend((0..am.len()).map(|i| Edit::Delete(prefix + i)));
        script.extend((0..bm.len()).map(|j| Edit::Insert(prefix + j)));
    } else {
        script.extend(lcs(am, bm).into_iter().map(|e| match e {
            Edit::Same(i, j) => Edit::Same(prefix + i, prefix + j),
            Edit::Delete(i) => Edit::Delete(prefix + i),
            Edit::Insert(j) => Edit::Insert(prefix + j),
        }));
    }
    let (ta, tb) = (a.len() - suffix, b.len() - suffix);
    script.extend((0..suffix).map(|k| Edit::Same(ta + k, tb + k)));
    script
}

fn lcs(a: &[&str], b: &[&str]) -> Vec<Edit> {
    let (n, m) = (a.len(), b.len());
    // len[i][j]: LCS length of a[i..] and b[j..].
    let mut len = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[at(i, j)] = if a[i] == b[j] {
                len[at(i + 1, j + 1)] + 1
            } else {
                len[at(i + 1, j)].max(len[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::with_capacity(n + m));
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(Edit::Same(i, j));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || len[at(i + 1, j)] >= len[at(i, j + 1)]) {
            out.push(Edit::Delete(i));
            i += 1;
        } else {
            out.push(Edit::Insert(j));
            j += 1;
        }
    }
    out
}

/// A unified diff of `expected` → `actual` with `context` lines around each change; empty when
/// they are equal.
pub fn unified(expected: &str, actual: &str, context: usize) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let script = edits(&a, &b);
    let changed: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, e)| !matches!(e, Edit::Same(..)))
        .map(|(k, _)| k)
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut out = String::from("--- expected\n+++ actual\n");
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(context);
        let mut end = changed[k] + context + 1;
        while k + 1 < changed.len() && changed[k + 1] <= end + context {
            k += 1;
            end = changed[k] + context + 1;
        }
        k += 1;
        hunk(&mut out, &script[start..end.min(script.len())], &a, &b);
    }
    out
}

fn hunk(out: &mut String, edits: &[Edit], a: &[&str], b: &[&str]) {
    let first_a = edits.iter().find_map(|e| match e {
        Edit::Same(i, _) | Edit::Delete(i) => Some(*i),
        Edit::Insert(_) => None,
    });
    let first_b = edits.iter().find_map(|e| match e {
        Edit::Same(_, j) | Edit::Insert(j) => Some(*j),
        Edit::Delete(_) => None,
    });
    let count_a = edits
        .iter()
        .filter(|e| !matches!(e, Edit::Insert(_)))
        .count();
    let count_b = edits
        .iter()
        .filter(|e| !matches!(e, Edit::Delete(_)))
        .count();
    // Unified diffs number lines from 1; an empty side is given as the line before it.
    let start =
        |first: Option<usize>, count: usize| first.map_or(0, |f| f + usize::from(count > 0));
    out.push_str(&format!(
        "@@ -{},{count_a} +{},{count_b} @@\n",
        start(first_a, count_a),
        start(first_b, count_b)
    ));
    for e in edits {
        let line = match *e {
            Edit::Same(i, _) => format!(" {}", a[i]),
            Edit::Delete(i) => format!("-{}", a[i]),
            Edit::Insert(j) => format!("+{}", b[j]),
        };
        out.push_str(&line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n", 3), "");
    }

    #[test]
    fn a_changed_line_in_the_middle() {
        let a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let b = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            unified(a, b, 2),
            "--- expected\n+++ actual\n@@ -3,5 +3,5 @@\n 3\n 4\n-5\n+five\n 6\n 7\n"
        );
    }

    #[test]
    fn separate_changes_make_separate_hunks_and_close_ones_merge() {
        let a: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let b: String = a
            .lines()
            .filter(|l| *l != "18")
            .map(|l| match l {
                "3" => "three\n".to_owned(),
                "5" => "five\n".to_owned(),
                other => format!("{other}\n"),
            })
            .collect();
        let d = unified(&a, &b, 1);
        assert_eq!(d.matches("@@ ").count(), 2, "{d}");
        assert!(d.contains("-3\n+three\n"), "{d}");
        assert!(d.contains("-18\n"), "{d}");
        assert!(d.contains("@@ -17,3 +17,2 @@"), "{d}");
    }

    #[test]
    fn insertions_and_deletions_at_the_ends() {
        assert_eq!(
            unified("", "x\n", 3),
            "--- expected\n+++ actual\n@@ -0,0 +1,1 @@\n+x\n"
        );
        assert_eq!(
            unified("x\ny\n", "y\n", 3),
            "--- expected\n+++ actual\n@@ -1,2 +1,1 @@\n-x\n y\n"
        );
    }
}
