//! Delivery shards: which subscriptions a delivery process serves.

use std::str::FromStr;

/// Shard `index` of `count`: the subscriptions whose stable hash of the id, mod `count`, is
/// `index`. `0/1` (the default) is every subscription. The hash is FNV-1a (64 bits) of the id's
/// bytes: the same on every build and machine, so processes agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This process's shard, below `count`.
    pub index: u64,
    /// How many shards there are, at least 1.
    pub count: u64,
}

impl Shard {
    /// Every subscription.
    pub const ALL: Self = Self { index: 0, count: 1 };

    /// Whether this shard serves subscription `id`.
    pub fn serves(self, id: &str) -> bool {
        Self::of(id, self.count) == self.index
    }

    /// The shard of subscription `id` among `count` (`count` 0 is taken as 1).
    pub fn of(id: &str, count: u64) -> u64 {
        fnv1a(id.as_bytes()) % count.max(1)
    }
}

impl Default for Shard {
    fn default() -> Self {
        Self::ALL
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard I/N with 0 <= I < N");
        let (index, count) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_subscriptions() {
        assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        assert!("3/3".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let ids = [
            "hmp-healthcare",
            "probation-yorkshire",
            "gp-leeds",
            "a",
            "b",
        ];
        for id in ids {
            let serving = (0..3)
                .filter(|i| {
                    Shard {
                        index: *i,
                        count: 3,
                    }
                    .serves(id)
                })
                .count();
            assert_eq!(serving, 1, "{id} is served by exactly one shard");
            assert!(Shard::ALL.serves(id));
        }
        // Stable across builds: FNV-1a of "a" is a published test vector.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
