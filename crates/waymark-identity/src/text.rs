//! Text comparison for names: normalisation, Jaro-Winkler, one-edit distance and a phonetic
//! code. Everything works on the normalised form: ASCII upper-case letters only.

/// Names longer than this are compared on their first `MAX_LEN` letters.
const MAX_LEN: usize = 48;

/// Upper-case ASCII letters of `s` (accents, spaces, hyphens, apostrophes and digits dropped).
pub(crate) fn normalise(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .take(MAX_LEN)
        .collect()
}

/// Jaro-Winkler similarity (prefix scale 0.1, up to 4 letters), 0.0 to 1.0.
pub(crate) fn jaro_winkler(a: &str, b: &str) -> f64 {
    let j = jaro(a.as_bytes(), b.as_bytes());
    let prefix = a
        .bytes()
        .zip(b.bytes())
        .take(4)
        .take_while(|(x, y)| x == y)
        .count();
    let prefix = f64::from(u8::try_from(prefix).unwrap_or(4));
    j + prefix * 0.1 * (1.0 - j)
}

fn jaro(a: &[u8], b: &[u8]) -> f64 {
    let (a, b) = (&a[..a.len().min(MAX_LEN)], &b[..b.len().min(MAX_LEN)]);
    if a.is_empty() || b.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_hit = [false; MAX_LEN];
    let mut b_hit = [false; MAX_LEN];
    let mut matches = 0u32;
    for (i, x) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        if let Some(j) = (lo..hi).find(|&j| !b_hit[j] && b[j] == *x) {
            a_hit[i] = true;
            b_hit[j] = true;
            matches += 1;
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let a_seq = a.iter().zip(a_hit).filter(|(_, h)| *h).map(|(c, _)| c);
    let b_seq = b.iter().zip(b_hit).filter(|(_, h)| *h).map(|(c, _)| c);
    let half_transpositions = a_seq.zip(b_seq).filter(|(x, y)| x != y).count();
    let m = f64::from(matches);
    let t = f64::from(u32::try_from(half_transpositions / 2).unwrap_or(0));
    let (la, lb) = (len_f64(a.len()), len_f64(b.len()));
    (m / la + m / lb + (m - t) / m) / 3.0
}

fn len_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

/// True when one substitution, insertion, deletion or swap of adjacent letters turns `a` into
/// `b` (or they are equal).
pub(crate) fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[head..], &b[head..]);
    let tail = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (
        &a[..a.len() - tail.min(a.len())],
        &b[..b.len() - tail.min(b.len())],
    );
    match (a.len(), b.len()) {
        (0, 0) | (1, 1) | (0, 1) | (1, 0) => true,
        (2, 2) => a[0] == b[1] && a[1] == b[0],
        _ => false,
    }
}

/// A phonetic code of a normalised name: Soundex, after folding the spellings English names
/// most often vary by at the start (PH/F, KN/N, WR/R, C/K, Z/S, and any vowel) and inside
/// (PH/F, a silent P in MPS), so that Philips and Filips, Catherine and Katherine, Thompson and
/// Thomson share a code.
pub(crate) fn phonetic(name: &str) -> String {
    let folded = fold_start(name);
    let bytes = folded.as_bytes();
    let Some(&first) = bytes.first() else {
        return String::new();
    };
    let mut out = String::with_capacity(4);
    out.push(char::from(first));
    let mut last = soundex_digit(first);
    for &c in &bytes[1..] {
        let d = soundex_digit(c);
        if d != 0 && d != last {
            out.push(char::from(b'0' + d));
            if out.len() == 4 {
                break;
            }
        }
        // H and W do not separate letters with the same code; vowels do.
        if !matches!(c, b'H' | b'W') {
            last = d;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

fn fold_start(name: &str) -> String {
    let folds: [(&str, &str); 6] = [
        ("PH", "F"),
        ("KN", "N"),
        ("WR", "R"),
        ("PS", "S"),
        ("GN", "N"),
        ("MAC", "MC"),
    ];
    let mut s = name.to_owned();
    for (from, to) in folds {
        if let Some(rest) = s.strip_prefix(from) {
            s = format!("{to}{rest}");
            break;
        }
    }
    for (from, to) in [("PH", "F"), ("MPS", "MS")] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    match s.as_bytes().first() {
        Some(b'C' | b'Q') => s.replace_range(..1, "K"),
        Some(b'Z') => s.replace_range(..1, "S"),
        Some(b'A' | b'E' | b'I' | b'O' | b'U' | b'Y') => s.replace_range(..1, "A"),
        _ => {}
    }
    s
}

fn soundex_digit(c: u8) -> u8 {
    match c {
        b'B' | b'F' | b'P' | b'V' => 1,
        b'C' | b'G' | b'J' | b'K' | b'Q' | b'S' | b'X' | b'Z' => 2,
        b'D' | b'T' => 3,
        b'L' => 4,
        b'M' | b'N' => 5,
        b'R' => 6,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaro_winkler_matches_published_values() {
        let close = |a: f64, b: f64| (a - b).abs() < 0.001;
        assert!(close(jaro_winkler("MARTHA", "MARHTA"), 0.961));
        assert!(close(jaro_winkler("DWAYNE", "DUANE"), 0.840));
        assert!(close(jaro_winkler("DIXON", "DICKSONX"), 0.813));
        assert!(close(jaro_winkler("SMITH", "SMITH"), 1.0));
        assert!(close(jaro_winkler("", "SMITH"), 0.0));
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit("SMITH", "SMYTH"));
        assert!(within_one_edit("SMITH", "SMIHT"));
        assert!(within_one_edit("SMITH", "SMITHE"));
        assert!(within_one_edit("SMITH", "MITH"));
        assert!(!within_one_edit("SMITH", "SMYTHE"));
        assert!(!within_one_edit("JACK", "JAKE"));
    }

    #[test]
    fn phonetic_codes() {
        assert_eq!(phonetic("ROBERT"), "R163");
        assert_eq!(phonetic("RUPERT"), "R163");
        assert_eq!(phonetic("ASHCRAFT"), "A261");
        assert_eq!(phonetic("TYMCZAK"), "T522");
        assert_eq!(phonetic("PHILLIPS"), phonetic("FILIPS"));
        assert_eq!(phonetic("CATHERINE"), phonetic("KATHRYN"));
        assert_eq!(phonetic("THOMPSON"), phonetic("THOMSON"));
        assert_eq!(phonetic("MACDONALD"), phonetic("MCDONALD"));
        assert_eq!(phonetic(""), "");
        assert_eq!(normalise("O'Brien-Smith 2"), "OBRIENSMITH");
    }
}
