//! The ways a name or a date gets mangled on its way into a record. Each returns `None` when
//! the change is impossible for this value (no nickname for "Lee", no valid swapped date).

use chrono::{Datelike, NaiveDate};

use crate::{
    names::{NICKNAMES, VARIANTS},
    rng::SplitMix64,
};

const LETTERS: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";

/// A keying error: one letter replaced, dropped, added or doubled (rarely the first).
pub(crate) fn typo(name: &str, rng: &mut SplitMix64) -> Option<String> {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 2 {
        return None;
    }
    let pos = if rng.chance(0.1) {
        0
    } else {
        1 + rng.index(chars.len() - 1)
    };
    let letter = |rng: &mut SplitMix64, upper: bool| {
        let c = char::from(rng.pick(LETTERS).unwrap_or(b'e'));
        if upper { c.to_ascii_uppercase() } else { c }
    };
    let upper = chars.get(pos).is_some_and(char::is_ascii_uppercase);
    match rng.below(4) {
        0 => {
            let old = chars[pos];
            let new = letter(rng, upper);
            if new.eq_ignore_ascii_case(&old) {
                return None;
            }
            chars[pos] = new;
        }
        1 if chars.len() > 3 && pos > 0 => {
            chars.remove(pos);
        }
        2 => chars.insert(pos.max(1), letter(rng, false)),
        _ => {
            let c = chars[pos].to_ascii_lowercase();
            chars.insert(pos + 1, c);
        }
    }
    let out: String = chars.into_iter().collect();
    (out != name).then_some(out)
}

/// Two adjacent, different letters swapped (not the first, which people rarely get wrong).
pub(crate) fn transposition(name: &str, rng: &mut SplitMix64) -> Option<String> {
    let mut chars: Vec<char> = name.chars().collect();
    let spots: Vec<usize> = (1..chars.len().saturating_sub(1))
        .filter(|&i| chars[i] != chars[i + 1] && chars[i + 1].is_alphabetic())
        .collect();
    let i = rng.pick(&spots)?;
    chars.swap(i, i + 1);
    Some(chars.into_iter().collect())
}

/// A spelling that sounds the same: a known variant, else a spelling rule (ph/f, ck/k, a
/// doubled or undoubled letter, -ie/-y).
pub(crate) fn phonetic(name: &str, rng: &mut SplitMix64) -> Option<String> {
    let known: Vec<&str> = VARIANTS
        .iter()
        .filter_map(|(a, b)| match name {
            n if n == *a => Some(*b),
            n if n == *b => Some(*a),
            _ => None,
        })
        .collect();
    if let Some(v) = rng.pick(&known) {
        return Some(v.to_owned());
    }
    let lower = name.to_ascii_lowercase();
    let rules: Vec<String> = spelling_rules(&lower)
        .into_iter()
        .filter(|s| *s != lower)
        .collect();
    let pick = rules.get(rng.index(rules.len()))?;
    Some(title_case(pick))
}

fn spelling_rules(lower: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (from, to) in [
        ("ph", "f"),
        ("ck", "k"),
        ("ou", "ow"),
        ("ai", "ay"),
        ("ee", "ea"),
    ] {
        if lower.contains(from) {
            out.push(lower.replacen(from, to, 1));
        }
    }
    for (from, to) in [("ie", "y"), ("y", "ie"), ("ey", "y"), ("s", "ss")] {
        if let Some(stem) = lower.strip_suffix(from) {
            out.push(format!("{stem}{to}"));
        }
    }
    let b = lower.as_bytes();
    if let Some(i) = (1..b.len()).find(|&i| b[i] == b[i - 1]) {
        out.push(format!("{}{}", &lower[..i], &lower[i + 1..]));
    } else if let Some(i) = (1..b.len().saturating_sub(1)).find(|&i| b"lnrt".contains(&b[i])) {
        out.push(format!("{}{}", &lower[..=i], &lower[i..]));
    }
    out
}

fn title_case(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

/// A nickname for the name, if it has one.
pub(crate) fn nickname(name: &str, rng: &mut SplitMix64) -> Option<&'static str> {
    let options: Vec<&'static str> = NICKNAMES
        .iter()
        .filter(|(full, _)| *full == name)
        .flat_map(|(_, nicks)| nicks.iter().copied())
        .collect();
    rng.pick(&options)
}

/// `YYYYMMDD` digits of a date.
fn digits(date: NaiveDate) -> [u8; 8] {
    let text = date.format("%Y%m%d").to_string();
    let mut out = [0u8; 8];
    for (o, b) in out.iter_mut().zip(text.bytes()) {
        *o = b - b'0';
    }
    out
}

fn from_digits(d: [u8; 8], latest: NaiveDate) -> Option<NaiveDate> {
    let n = |r: std::ops::Range<usize>| d[r].iter().fold(0u32, |a, x| a * 10 + u32::from(*x));
    let year = i32::try_from(n(0..4)).ok()?;
    let date = NaiveDate::from_ymd_opt(year, n(4..6), n(6..8))?;
    (year >= 1900 && date <= latest).then_some(date)
}

/// One digit of the date wrong (not the century), still a valid date no later than `latest`.
pub(crate) fn dob_digit(
    date: NaiveDate,
    latest: NaiveDate,
    rng: &mut SplitMix64,
) -> Option<NaiveDate> {
    for _ in 0..12 {
        let mut d = digits(date);
        let pos = 2 + rng.index(6);
        let new = u8::try_from(rng.below(10)).unwrap_or(0);
        if new == d[pos] {
            continue;
        }
        d[pos] = new;
        if let Some(out) = from_digits(d, latest) {
            return Some(out);
        }
    }
    None
}

/// Day and month swapped, when that is a valid, different date.
pub(crate) fn dob_swap(date: NaiveDate) -> Option<NaiveDate> {
    if date.day() == date.month() {
        return None;
    }
    NaiveDate::from_ymd_opt(date.year(), date.day(), date.month())
}

/// Two adjacent, different digits swapped (not the century), still a valid date.
pub(crate) fn dob_transposition(
    date: NaiveDate,
    latest: NaiveDate,
    rng: &mut SplitMix64,
) -> Option<NaiveDate> {
    let d = digits(date);
    let options: Vec<NaiveDate> = (2..7)
        .filter(|&i| d[i] != d[i + 1])
        .filter_map(|i| {
            let mut t = d;
            t.swap(i, i + 1);
            from_digits(t, latest)
        })
        .collect();
    rng.pick(&options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn name_changes_change_the_name() {
        let mut rng = SplitMix64::new(5);
        for _ in 0..200 {
            for name in ["Smith", "Robert", "Leanne", "O'Brien", "Li"] {
                for f in [typo, transposition, phonetic] {
                    if let Some(out) = f(name, &mut rng) {
                        assert_ne!(out, name);
                        assert!(!out.is_empty());
                    }
                }
            }
        }
        assert_eq!(phonetic("Thompson", &mut rng).as_deref(), Some("Thomson"));
        assert!(nickname("Robert", &mut rng).is_some());
        assert!(nickname("Lee", &mut rng).is_none());
    }

    #[test]
    fn date_changes_are_valid_and_different() {
        let latest = date(2007, 1, 1);
        let mut rng = SplitMix64::new(8);
        assert_eq!(dob_swap(date(1990, 3, 7)), Some(date(1990, 7, 3)));
        assert_eq!(dob_swap(date(1990, 3, 17)), None);
        assert_eq!(dob_swap(date(1990, 3, 3)), None);
        for _ in 0..500 {
            let d = date(1985, 11, 24);
            let x = dob_digit(d, latest, &mut rng).unwrap();
            assert_ne!(x, d);
            let diff = digits(x)
                .iter()
                .zip(digits(d))
                .filter(|(a, b)| **a != *b)
                .count();
            assert_eq!(diff, 1);
            let t = dob_transposition(d, latest, &mut rng).unwrap();
            assert_ne!(t, d);
            assert!(t <= latest);
        }
    }
}
