use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::Category;
use crate::user::Actor;

/// How a workspace's stories are shared out between categories: whole percentages that add up
/// to 100 (FEATURES C2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryMix(BTreeMap<Category, u8>);

/// A mix that cannot be used, with what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MixError {
    #[error("give the mix as category=percent pairs, e.g. memes=70 merch=30")]
    Empty,
    #[error("{0:?} is not category=percent (e.g. memes=70)")]
    NotAPair(String),
    #[error(transparent)]
    Category(#[from] super::CategoryError),
    #[error("{category}: {value:?} is not a whole percentage from 1 to 100")]
    Percent { category: String, value: String },
    #[error("{0} is named twice")]
    Duplicate(Category),
    #[error("the percentages add up to {0}; they must add up to 100")]
    Sum(u32),
}

impl CategoryMix {
    /// A mix from `(category, percent)` pairs.
    ///
    /// # Errors
    /// [`MixError`] when it is empty, names a category twice, has a percentage outside 1–100, or
    /// does not add up to 100.
    pub fn new(shares: impl IntoIterator<Item = (Category, u8)>) -> Result<Self, MixError> {
        let mut mix = BTreeMap::new();
        for (category, percent) in shares {
            if !(1..=100).contains(&percent) {
                return Err(MixError::Percent { category: category.to_string(), value: percent.to_string() });
            }
            if mix.insert(category.clone(), percent).is_some() {
                return Err(MixError::Duplicate(category));
            }
        }
        if mix.is_empty() {
            return Err(MixError::Empty);
        }
        let sum: u32 = mix.values().map(|&p| u32::from(p)).sum();
        if sum != 100 {
            return Err(MixError::Sum(sum));
        }
        Ok(Self(mix))
    }

    /// Reads `memes=70 merch=30` (pairs separated by spaces or commas).
    ///
    /// # Errors
    /// As [`Self::new`], and [`MixError::NotAPair`] for anything that is not `name=number`.
    pub fn parse(input: &str) -> Result<Self, MixError> {
        let mut shares = Vec::new();
        for pair in input.split(|c: char| c.is_whitespace() || c == ',').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or_else(|| MixError::NotAPair(pair.to_owned()))?;
            let category = Category::new(name)?;
            let percent = value
                .trim_end_matches('%')
                .parse::<u8>()
                .map_err(|_| MixError::Percent { category: category.to_string(), value: value.to_owned() })?;
            shares.push((category, percent));
        }
        Self::new(shares)
    }

    /// The categories with their percentages, in name order.
    pub fn shares(&self) -> impl Iterator<Item = (&Category, u8)> {
        self.0.iter().map(|(c, &p)| (c, p))
    }

    /// This category's percentage (0 when not in the mix).
    #[must_use]
    pub fn percent(&self, category: &Category) -> u8 {
        self.0.get(category).copied().unwrap_or(0)
    }
}

impl fmt::Display for CategoryMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self.0.iter().map(|(c, p)| format!("{c}={p}")).collect();
        f.write_str(&pairs.join(" "))
    }
}

/// One version of a workspace's mix: valid from `valid_from` until `valid_to` (or current).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixVersion {
    pub mix: CategoryMix,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    pub set_by: Actor,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_must_add_up_to_100() {
        let mix = CategoryMix::parse("memes=70 Merch=30%").expect("valid");
        assert_eq!(mix.to_string(), "memes=70 merch=30");
        assert_eq!(mix.percent(&Category::new("memes").expect("name")), 70);
        assert_eq!(CategoryMix::parse("memes=70,merch=30").expect("commas"), mix);
        assert_eq!(CategoryMix::parse("memes=70 merch=20"), Err(MixError::Sum(90)));
        assert_eq!(CategoryMix::parse(""), Err(MixError::Empty));
        assert!(matches!(CategoryMix::parse("memes"), Err(MixError::NotAPair(_))));
        assert!(matches!(CategoryMix::parse("memes=0 merch=100"), Err(MixError::Percent { .. })));
        assert!(matches!(CategoryMix::parse("memes=abc"), Err(MixError::Percent { .. })));
        assert!(matches!(CategoryMix::parse("memes=300"), Err(MixError::Percent { .. })));
        assert!(matches!(CategoryMix::parse("memes=50 memes=50"), Err(MixError::Duplicate(_))));
        assert!(matches!(CategoryMix::parse("a b=100"), Err(MixError::NotAPair(_))));
    }
}
