//! Which media goes in each slot: the category mix, held for the queue and what was posted in
//! the mix's period together, then never-posted media first, then the least recently posted.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use super::Jitter;
use crate::library::{Category, CategoryMix, MediaId};

/// A media item that may go into a slot: active, not queued, not locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub media: MediaId,
    pub category: Category,
    pub last_posted_at: Option<DateTime<Utc>>,
}

/// Stories per category that the mix is held to: those queued plus those posted in the mix's
/// period.
pub type CategoryCounts = BTreeMap<Category, u64>;

/// Ties are broken by a draw from the jitter source in `[-TIE_DRAW, TIE_DRAW]` seconds.
const TIE_DRAW: i64 = 1_000_000;

/// Fills `slots` with media. Each slot goes to the mix's category furthest behind its share —
/// counting `so_far` (what is queued and what was posted in the mix's period) together with what
/// this run assigned — so the mix holds across runs, not per run. Ties are broken by a draw from
/// `jitter`, so they do not always go the same way. With no mix every category present gets an
/// equal share. A category that has run out is left out (the others keep their ratio), and when
/// every category of the mix has, the best media of any category goes next. Within a category
/// never-posted media comes first, then the least recently posted. Slots left when every
/// candidate is used stay empty (the result is shorter).
#[must_use]
pub fn assign(
    slots: &[DateTime<Utc>],
    mix: Option<&CategoryMix>,
    so_far: &CategoryCounts,
    mut candidates: Vec<Candidate>,
    jitter: &mut dyn Jitter,
) -> Vec<(DateTime<Utc>, MediaId)> {
    // Never posted (None) first, then oldest post first; stable, so the store's order breaks ties.
    candidates.sort_by_key(|c| c.last_posted_at.map_or((0, DateTime::<Utc>::MIN_UTC), |at| (1, at)));
    let mut by_category: BTreeMap<Category, VecDeque<(usize, MediaId)>> = BTreeMap::new();
    for (rank, candidate) in candidates.iter().enumerate() {
        by_category.entry(candidate.category.clone()).or_default().push_back((rank, candidate.media));
    }
    let weights: Vec<(Category, i128)> = match mix {
        Some(mix) => mix.shares().map(|(c, p)| (c.clone(), i128::from(p))).collect(),
        None => by_category.keys().map(|c| (c.clone(), 1)).collect(),
    };
    let mut had: CategoryCounts = so_far.clone();
    let mut plan = Vec::with_capacity(slots.len());
    for slot in slots {
        // The categories of the mix that still have media, and how far each is behind its share
        // of what they hold between them once this slot counts (scaled by their total weight):
        // weight·(held + 1) − had·total. A category that ran out is left out, so the others keep
        // their ratio to each other.
        let open: Vec<&(Category, i128)> = weights
            .iter()
            .filter(|(category, _)| by_category.get(category).is_some_and(|queue| !queue.is_empty()))
            .collect();
        let count = |category: &Category| i128::from(had.get(category).copied().unwrap_or(0));
        let total_weight: i128 = open.iter().map(|(_, weight)| weight).sum();
        let held: i128 = open.iter().map(|(category, _)| count(category)).sum();
        let behind: Vec<(&Category, i128)> = open
            .iter()
            .map(|(category, weight)| (category, weight * (held + 1) - count(category) * total_weight))
            .collect();
        let pick = match behind.iter().map(|(_, by)| *by).max() {
            Some(most) => {
                let tied: Vec<&Category> = behind.iter().filter(|(_, by)| *by == most).map(|(c, _)| *c).collect();
                Some(draw(&tied, jitter).clone())
            }
            // No category of the mix has media left: the best media of any category.
            None => by_category
                .iter()
                .filter_map(|(category, queue)| queue.front().map(|(rank, _)| (*rank, category)))
                .min()
                .map(|(_, category)| category.clone()),
        };
        let Some(category) = pick else { break };
        let Some((_, media)) = by_category.get_mut(&category).and_then(VecDeque::pop_front) else { break };
        *had.entry(category).or_default() += 1;
        plan.push((*slot, media));
    }
    plan
}

/// One of `tied` (never empty), chosen by a draw from `jitter`.
fn draw<'a>(tied: &[&'a Category], jitter: &mut dyn Jitter) -> &'a Category {
    let max = Duration::seconds(TIE_DRAW);
    let drawn = jitter.offset(max).clamp(-max, max).num_seconds() + TIE_DRAW;
    let index = usize::try_from(drawn).unwrap_or(0) % tied.len().max(1);
    tied[index]
}
