//! Weighted pickers over the embedded name lists, built once per generation (no global state).

use std::borrow::Cow;

use crate::{
    names::{COMPOSED_WEIGHT, FAMILY, FEMALE, MALE, PREFIXES, SUFFIXES, Weighted},
    person::Sex,
    rng::SplitMix64,
};

/// Draws indices with probability proportional to their weight.
pub(crate) struct Picker {
    cumulative: Vec<u64>,
}

impl Picker {
    fn new(weights: impl Iterator<Item = u32>) -> Self {
        let mut total = 0u64;
        let cumulative = weights
            .map(|w| {
                total += u64::from(w);
                total
            })
            .collect();
        Self { cumulative }
    }

    pub(crate) fn pick(&self, rng: &mut SplitMix64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let x = rng.below(total);
        self.cumulative.partition_point(|&c| c <= x)
    }
}

/// The pickers a generation uses.
pub(crate) struct Tables {
    male: Picker,
    female: Picker,
    pub(crate) family: Picker,
}

impl Tables {
    pub(crate) fn new() -> Self {
        let composed = PREFIXES.len() * SUFFIXES.len();
        Self {
            male: Picker::new(MALE.iter().map(|(_, w)| *w)),
            female: Picker::new(FEMALE.iter().map(|(_, w)| *w)),
            family: Picker::new(
                FAMILY
                    .iter()
                    .map(|(_, w)| *w)
                    .chain(std::iter::repeat_n(COMPOSED_WEIGHT, composed)),
            ),
        }
    }

    pub(crate) fn given(&self, sex: Sex) -> &Picker {
        match sex {
            Sex::Male => &self.male,
            Sex::Female => &self.female,
        }
    }
}

/// The given-name list of a sex.
pub(crate) fn given_list(sex: Sex) -> &'static [Weighted] {
    match sex {
        Sex::Male => MALE,
        Sex::Female => FEMALE,
    }
}

/// The given name at `index` in the list of `sex` (empty when out of range).
pub(crate) fn given_name(sex: Sex, index: u16) -> &'static str {
    given_list(sex)
        .get(usize::from(index))
        .map_or("", |(n, _)| n)
}

/// The index of a given name in the list of `sex`.
pub(crate) fn given_index(sex: Sex, name: &str) -> Option<u16> {
    let i = given_list(sex).iter().position(|(n, _)| *n == name)?;
    u16::try_from(i).ok()
}

/// The family name at `index`: a listed surname, or a composed one past the list.
pub(crate) fn family_name(index: u16) -> Cow<'static, str> {
    let i = usize::from(index);
    if let Some((name, _)) = FAMILY.get(i) {
        return Cow::Borrowed(name);
    }
    let k = i - FAMILY.len();
    let prefix = PREFIXES.get(k / SUFFIXES.len()).copied().unwrap_or("Ash");
    let suffix = SUFFIXES.get(k % SUFFIXES.len()).copied().unwrap_or("ley");
    Cow::Owned(format!("{prefix}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_follow_weights_and_stay_in_range() {
        let t = Tables::new();
        let mut rng = SplitMix64::new(3);
        let n = 200_000;
        let smiths = (0..n).filter(|_| t.family.pick(&mut rng) == 0).count();
        // Smith is about 1.3 % of everyone.
        assert!((2_000..3_300).contains(&smiths), "{smiths}");
        let last = FAMILY.len() + PREFIXES.len() * SUFFIXES.len();
        assert!((0..10_000).all(|_| t.family.pick(&mut rng) < last));
    }

    #[test]
    fn composed_family_names_are_names() {
        let first_composed = u16::try_from(FAMILY.len()).unwrap();
        assert_eq!(family_name(first_composed), "Ashley");
        assert_eq!(family_name(0), "Smith");
    }
}
