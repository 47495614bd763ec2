//! Synthetic English postcodes (`LS11 5QT`): real area letters, plausible districts, and inward
//! codes drawn from the letters Royal Mail uses there. Packed into a `u32`.

use std::fmt;

use crate::rng::SplitMix64;

/// Postcode areas of England.
const AREAS: &[&str] = &[
    "B", "BD", "BL", "BN", "BS", "CB", "CV", "DE", "DN", "E", "HU", "L", "LE", "LS", "M", "ME",
    "N", "NE", "NG", "NW", "OL", "PE", "PL", "PO", "RG", "S", "SE", "SK", "SO", "SR", "ST", "SW",
    "TS", "W", "WF", "WS", "WV", "YO",
];

/// Letters allowed in the unit part of the inward code (no C, I, K, M, O, V).
const UNIT: &[u8; 20] = b"ABDEFGHJLNPQRSTUWXYZ";

/// A postcode: area, district (1–30), sector digit, two unit letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Postcode(u32);

impl Postcode {
    pub(crate) fn random(rng: &mut SplitMix64) -> Self {
        let area = rng.below(AREAS.len() as u64);
        Self::in_area(rng, area)
    }

    /// A different postcode, in the same area most of the time (people move locally).
    pub(crate) fn moved(self, rng: &mut SplitMix64) -> Self {
        let area = if rng.chance(0.7) {
            u64::from(self.0 >> 24)
        } else {
            rng.below(AREAS.len() as u64)
        };
        let next = Self::in_area(rng, area);
        if next == self {
            Self::in_area(rng, area)
        } else {
            next
        }
    }

    fn in_area(rng: &mut SplitMix64, area: u64) -> Self {
        let district = 1 + rng.below(30);
        let sector = rng.below(10);
        let unit = rng.below(400);
        let packed = (area << 24) | (district << 16) | (sector << 12) | unit;
        Self(u32::try_from(packed).unwrap_or(0))
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let area = AREAS
            .get(usize::try_from(self.0 >> 24).unwrap_or(0))
            .copied()
            .unwrap_or("B");
        let district = (self.0 >> 16) & 0xff;
        let sector = (self.0 >> 12) & 0xf;
        let unit = usize::try_from(self.0 & 0xfff).unwrap_or(0);
        let a = char::from(UNIT[unit / 20 % 20]);
        let b = char::from(UNIT[unit % 20]);
        write!(f, "{area}{district} {sector}{a}{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes_have_the_uk_shape() {
        let mut rng = SplitMix64::new(1);
        for _ in 0..1000 {
            let p = Postcode::random(&mut rng);
            let text = p.to_string();
            let (outward, inward) = text.split_once(' ').unwrap();
            assert!((2..=4).contains(&outward.len()), "{text}");
            assert_eq!(inward.len(), 3, "{text}");
            assert!(p.moved(&mut rng) != p);
        }
    }
}
