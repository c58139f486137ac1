//! What one sync changes, worked out without any I/O (FEATURES M3): the library as the store
//! knows it and the source's listing go in; out come the files whose bodies must be read, and,
//! once they are read, the changes and the summary.
//!
//! The rules, for each listed file (in path order):
//! - A path the library knows, with the same identity (the source's checksum where both have
//!   one, else the same size and modification time) is unchanged, and its body is not read; an
//!   item that was removed and is back is reactivated. Anything else at a known path is read: the
//!   same content refreshes the identity, new content replaces the item's (it keeps its id).
//! - A new path whose source checksum is that of a known item whose path is gone is that item,
//!   moved: no body read. Else it is read once: the same content as a known item whose path is
//!   gone is a move (it keeps its id, history, times posted and locks); the same content as an
//!   item still listed (or added in this run) is refused as a copy; new content is added if
//!   `index-media` would add it.
//! - A file that cannot be read is refused and skipped; a known item at its path stays as it was.
//! - Every active item whose path is gone and that nothing moved to is removed.

use std::collections::{HashMap, HashSet};

use chrono::SubsecRound;
use storyline_domain::library::{ContentHash, MediaId};
use storyline_domain::ports::{ItemContent, ItemUpdate, SourceEntry, SourceFile, SyncChanges, SyncedItem, SyncedNew};
use storyline_domain::source::SyncSummary;

use crate::library::{accept, category_of};

/// What reading a file gave: the source's description of it, or why it could not be read.
pub type Read = Result<SourceFile, String>;

/// A sync's first half: what is settled from the listing alone, and what must be read.
#[derive(Debug)]
pub struct Triage {
    known: Vec<SyncedItem>,
    by_path: HashMap<String, usize>,
    /// Items accounted for: seen at their path, or moved.
    claimed: HashSet<MediaId>,
    to_read: Vec<SourceEntry>,
    changes: SyncChanges,
    summary: SyncSummary,
}

/// A sync's outcome: what to store, and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub changes: SyncChanges,
    pub summary: SyncSummary,
}

/// Whether a listed file is what the library saw last time, by its identity alone.
fn same_identity(item: &SyncedItem, entry: &SourceEntry) -> bool {
    match (&item.checksum, &entry.checksum) {
        (Some(known), Some(listed)) => known == listed,
        _ => item.modified.is_some() && item.modified == entry.modified && item.size_bytes == entry.size_bytes,
    }
}

/// An update keeping `item` at (or moving it to) `entry`'s path, active, with the listing's
/// identity.
///
/// # Errors
/// Why not, when the path has no usable category.
fn seen_at(item: &SyncedItem, entry: &SourceEntry, content: Option<ItemContent>) -> Result<ItemUpdate, String> {
    Ok(ItemUpdate {
        id: item.id,
        path: entry.path.clone(),
        category: category_of(&entry.path)?,
        active: true,
        checksum: entry.checksum.clone(),
        modified: entry.modified,
        content,
    })
}

/// Sorts the listing against the library: see the module's rules.
#[must_use]
pub fn triage(known: Vec<SyncedItem>, mut listing: Vec<SourceEntry>) -> Triage {
    // The stores keep microseconds: compare what they can give back.
    for entry in &mut listing {
        entry.modified = entry.modified.map(|at| at.trunc_subsecs(6));
    }
    listing.sort_by(|a, b| a.path.cmp(&b.path));
    listing.dedup_by(|a, b| a.path == b.path);
    let by_path: HashMap<String, usize> = known.iter().enumerate().map(|(i, item)| (item.path.clone(), i)).collect();
    let listed: HashSet<&str> = listing.iter().map(|e| e.path.as_str()).collect();
    let mut by_checksum: HashMap<&str, usize> = HashMap::new();
    for (i, item) in known.iter().enumerate() {
        if let Some(checksum) = &item.checksum
            && !listed.contains(item.path.as_str())
        {
            by_checksum.entry(checksum.as_str()).or_insert(i);
        }
    }
    let mut claimed = HashSet::new();
    let mut to_read = Vec::new();
    let mut changes = SyncChanges::default();
    let mut summary = SyncSummary::default();
    for entry in listing {
        if let Some(&i) = by_path.get(&entry.path) {
            let item = &known[i];
            claimed.insert(item.id);
            if !same_identity(item, &entry) {
                to_read.push(entry);
                continue;
            }
            let refreshed = item.checksum != entry.checksum || item.modified != entry.modified;
            if !item.active || refreshed {
                match seen_at(item, &entry, None) {
                    Ok(update) => changes.updated.push(update),
                    Err(why) => {
                        summary.refused.push((entry.path, why));
                        continue;
                    }
                }
            }
            if item.active {
                summary.unchanged += 1;
            } else {
                summary.reactivated += 1;
            }
            continue;
        }
        let moved = entry
            .checksum
            .as_deref()
            .and_then(|checksum| by_checksum.get(checksum))
            .map(|&i| &known[i])
            .filter(|item| !claimed.contains(&item.id));
        match moved.map(|item| (item, seen_at(item, &entry, None))) {
            Some((item, Ok(update))) => {
                claimed.insert(item.id);
                changes.updated.push(update);
                if item.active {
                    summary.moved += 1;
                } else {
                    summary.reactivated += 1;
                }
            }
            Some((_, Err(why))) => summary.refused.push((entry.path, why)),
            None => to_read.push(entry),
        }
    }
    Triage { known, by_path, claimed, to_read, changes, summary }
}

impl Triage {
    /// The files whose bodies must be read (described) before the sync can finish, by path.
    #[must_use]
    pub fn to_read(&self) -> &[SourceEntry] {
        &self.to_read
    }

    /// Finishes the sync with what reading [`Triage::to_read`] gave, by path (a path missing from
    /// `reads` counts as unreadable).
    #[must_use]
    pub fn finish(self, mut reads: HashMap<String, Read>) -> Plan {
        let Self { known, by_path, mut claimed, to_read, mut changes, mut summary } = self;
        // Content the library holds after this run, and at which path.
        let mut by_hash: HashMap<ContentHash, (MediaId, String)> =
            known.iter().map(|item| (item.hash.clone(), (item.id, item.path.clone()))).collect();
        for entry in to_read {
            let path = entry.path.clone();
            let file = match reads.remove(&path) {
                Some(Ok(file)) => file,
                Some(Err(why)) => {
                    summary.refused.push((path, why));
                    continue;
                }
                None => {
                    summary.refused.push((path, "it was not read".to_owned()));
                    continue;
                }
            };
            let Some(hash) = ContentHash::from_hex(&file.sha256) else {
                summary.refused.push((path, "its content hash is unreadable".to_owned()));
                continue;
            };
            let holder = by_hash.get(&hash).cloned();
            if let Some(&i) = by_path.get(&path) {
                // A known path whose identity changed.
                let item = &known[i];
                let content = if hash == item.hash {
                    None
                } else {
                    if let Some((_, other)) = holder {
                        summary.refused.push((path, format!("the same as {other}, already in the library")));
                        continue;
                    }
                    match accept(&path, &file) {
                        Ok((media, warnings)) => {
                            summary.warnings.extend(warnings.into_iter().map(|w| (path.clone(), w)));
                            Some(ItemContent {
                                kind: media.kind,
                                hash: media.hash,
                                size_bytes: media.size_bytes,
                                width: media.width,
                                height: media.height,
                            })
                        }
                        Err(why) => {
                            summary.refused.push((path, why));
                            continue;
                        }
                    }
                };
                match seen_at(item, &entry, content.clone()) {
                    Ok(update) => changes.updated.push(update),
                    Err(why) => {
                        summary.refused.push((path, why));
                        continue;
                    }
                }
                if content.is_some() {
                    by_hash.remove(&item.hash);
                    by_hash.insert(hash, (item.id, path));
                    // New content at a known path is new to the library.
                    summary.added += 1;
                } else if item.active {
                    summary.unchanged += 1;
                } else {
                    summary.reactivated += 1;
                }
                continue;
            }
            match holder {
                Some((id, _)) if !claimed.contains(&id) => {
                    // The same content, its old path gone: moved.
                    let Some(item) = known.iter().find(|item| item.id == id) else { continue };
                    match seen_at(item, &entry, None) {
                        Ok(update) => changes.updated.push(update),
                        Err(why) => {
                            summary.refused.push((path, why));
                            continue;
                        }
                    }
                    claimed.insert(id);
                    by_hash.insert(hash, (id, path));
                    if item.active {
                        summary.moved += 1;
                    } else {
                        summary.reactivated += 1;
                    }
                }
                Some((_, other)) => {
                    summary.refused.push((path, format!("the same as {other}, already in the library")));
                }
                None => match accept(&path, &file) {
                    Ok((media, warnings)) => {
                        summary.warnings.extend(warnings.into_iter().map(|w| (path.clone(), w)));
                        // Held by an item of this run: a later copy is refused, not moved.
                        let placeholder = MediaId::new();
                        claimed.insert(placeholder);
                        by_hash.insert(hash, (placeholder, path));
                        changes.added.push(SyncedNew { media, checksum: entry.checksum, modified: entry.modified });
                        summary.added += 1;
                    }
                    Err(why) => summary.refused.push((path, why)),
                },
            }
        }
        for item in &known {
            if item.active && !claimed.contains(&item.id) {
                changes.removed.push(item.id);
                summary.removed += 1;
            }
        }
        Plan { changes, summary }
    }
}

#[cfg(test)]
mod tests;
