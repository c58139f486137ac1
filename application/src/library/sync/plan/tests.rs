use chrono::{DateTime, TimeZone, Utc};
use storyline_domain::library::{MediaContent, StillFormat};

use super::*;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, minute, 0).single().expect("a time")
}

fn hash(content: u8) -> String {
    format!("{content:02x}").repeat(32)
}

fn item(path: &str, content: u8, active: bool, checksum: Option<&str>) -> SyncedItem {
    SyncedItem {
        id: MediaId::new(),
        path: path.to_owned(),
        active,
        hash: ContentHash::from_hex(&hash(content)).expect("hash"),
        size_bytes: 100,
        checksum: checksum.map(str::to_owned),
        modified: Some(at(1)),
    }
}

/// A listed file of 100 bytes changed at `at(1)` (what [`item`] saw), with its checksum.
fn entry(path: &str, checksum: Option<&str>) -> SourceEntry {
    SourceEntry { path: path.to_owned(), size_bytes: 100, checksum: checksum.map(str::to_owned), modified: Some(at(1)) }
}

fn png(path: &str, content: u8) -> Read {
    Ok(SourceFile {
        path: path.to_owned(),
        extension: "png".to_owned(),
        size_bytes: 100,
        sha256: hash(content),
        content: MediaContent::Still { format: StillFormat::Png, width: 1080, height: 1920 },
    })
}

fn paths_to_read(triage: &Triage) -> Vec<&str> {
    triage.to_read().iter().map(|e| e.path.as_str()).collect()
}

fn reads(files: Vec<(&str, Read)>) -> HashMap<String, Read> {
    files.into_iter().map(|(path, read)| (path.to_owned(), read)).collect()
}

#[test]
fn an_unchanged_listing_reads_nothing_and_changes_nothing() {
    let known = vec![item("memes/a.png", 1, true, None), item("memes/b.png", 2, true, Some("etag-b"))];
    let triage = triage(known, vec![entry("memes/b.png", Some("etag-b")), entry("memes/a.png", None)]);
    assert!(triage.to_read().is_empty());
    let plan = triage.finish(HashMap::new());
    assert_eq!(plan.changes, SyncChanges::default());
    assert_eq!(plan.summary, SyncSummary { unchanged: 2, ..SyncSummary::default() });
}

#[test]
fn the_checksum_decides_where_there_is_one_else_size_and_time() {
    let known = vec![
        item("memes/a.png", 1, true, Some("v1")),
        item("memes/b.png", 2, true, None),
        item("memes/c.png", 3, true, None),
        item("memes/d.png", 4, true, None),
    ];
    let mut touched = entry("memes/b.png", None);
    touched.modified = Some(at(2));
    let mut grown = entry("memes/c.png", None);
    grown.size_bytes = 101;
    // The same checksum with another time is unchanged; the same time with another checksum is not.
    let mut a = entry("memes/a.png", Some("v2"));
    a.modified = Some(at(1));
    let mut d = entry("memes/d.png", None);
    d.modified = None;
    let triage = triage(known, vec![a, touched, grown, d]);
    assert_eq!(paths_to_read(&triage), ["memes/a.png", "memes/b.png", "memes/c.png", "memes/d.png"]);
    let known = vec![item("memes/a.png", 1, true, Some("v1"))];
    let mut later = entry("memes/a.png", Some("v1"));
    later.modified = Some(at(9));
    let triage = super::triage(known, vec![later]);
    assert!(triage.to_read().is_empty(), "same checksum, later time: unchanged");
    let plan = triage.finish(HashMap::new());
    assert_eq!(plan.summary.unchanged, 1);
    assert_eq!(plan.changes.updated.len(), 1, "the new time is remembered");
    assert_eq!(plan.changes.updated[0].modified, Some(at(9)));
}

#[test]
fn a_touched_file_with_the_same_content_is_unchanged_and_its_identity_refreshed() {
    let known = vec![item("memes/a.png", 1, true, None)];
    let mut touched = entry("memes/a.png", None);
    touched.modified = Some(at(5));
    let triage = triage(known.clone(), vec![touched]);
    let plan = triage.finish(reads(vec![("memes/a.png", png("memes/a.png", 1))]));
    assert_eq!(plan.summary, SyncSummary { unchanged: 1, ..SyncSummary::default() });
    let [update] = plan.changes.updated.as_slice() else { panic!("one update: {plan:?}") };
    assert_eq!((update.id, update.modified, update.content.is_none()), (known[0].id, Some(at(5)), true));
}

#[test]
fn new_files_are_read_once_validated_and_added_with_their_identity() {
    let triage = triage(Vec::new(), vec![entry("memes/new.png", Some("e1")), entry("top.png", None)]);
    assert_eq!(paths_to_read(&triage), ["memes/new.png", "top.png"]);
    let plan = triage.finish(reads(vec![("memes/new.png", png("memes/new.png", 1)), ("top.png", png("top.png", 2))]));
    assert_eq!(plan.summary.added, 2);
    let added: Vec<(&str, &str, Option<&str>)> = plan
        .changes
        .added
        .iter()
        .map(|n| (n.media.path.as_str(), n.media.category.as_str(), n.checksum.as_deref()))
        .collect();
    assert_eq!(added, [("memes/new.png", "memes", Some("e1")), ("top.png", "uncategorized", None)]);
    assert_eq!(plan.changes.added[0].modified, Some(at(1)));
}

#[test]
fn the_same_content_at_a_new_path_whose_old_path_is_gone_is_moved() {
    let old = item("memes/old.png", 1, true, None);
    let triage = triage(vec![old.clone()], vec![entry("merch/new.png", None)]);
    let plan = triage.finish(reads(vec![("merch/new.png", png("merch/new.png", 1))]));
    assert_eq!(plan.summary, SyncSummary { moved: 1, ..SyncSummary::default() });
    let [update] = plan.changes.updated.as_slice() else { panic!("one move: {plan:?}") };
    assert_eq!((update.id, update.path.as_str(), update.category.as_str()), (old.id, "merch/new.png", "merch"));
    assert!(plan.changes.added.is_empty() && plan.changes.removed.is_empty());
}

#[test]
fn a_source_checksum_recognises_a_move_without_reading_the_body() {
    let old = item("memes/old.png", 1, true, Some("etag-1"));
    let triage = triage(vec![old.clone()], vec![entry("memes/renamed.png", Some("etag-1"))]);
    assert!(triage.to_read().is_empty());
    let plan = triage.finish(HashMap::new());
    assert_eq!(plan.summary.moved, 1);
    assert_eq!(plan.changes.updated[0].id, old.id);
    assert_eq!(plan.changes.updated[0].path, "memes/renamed.png");
}

#[test]
fn a_copy_of_a_file_still_there_is_refused_not_moved() {
    let kept = item("memes/a.png", 1, true, Some("etag-1"));
    let triage =
        triage(vec![kept], vec![entry("memes/a.png", Some("etag-1")), entry("memes/copy.png", Some("etag-1"))]);
    assert_eq!(paths_to_read(&triage), ["memes/copy.png"], "a checksum of an item still listed is no move");
    let plan = triage.finish(reads(vec![("memes/copy.png", png("memes/copy.png", 1))]));
    assert_eq!(plan.summary.unchanged, 1);
    assert_eq!(
        plan.summary.refused,
        [("memes/copy.png".to_owned(), "the same as memes/a.png, already in the library".to_owned())]
    );
    // Two new files with the same content: the first is added, the second refused.
    let triage = super::triage(Vec::new(), vec![entry("memes/x.png", None), entry("memes/y.png", None)]);
    let plan =
        triage.finish(reads(vec![("memes/x.png", png("memes/x.png", 7)), ("memes/y.png", png("memes/y.png", 7))]));
    assert_eq!((plan.summary.added, plan.summary.refused.len()), (1, 1));
    assert_eq!(plan.summary.refused[0].1, "the same as memes/x.png, already in the library");
}

#[test]
fn gone_files_are_removed_and_removed_ones_that_come_back_are_reactivated() {
    let gone = item("memes/gone.png", 1, true, None);
    let back = item("memes/back.png", 2, false, None);
    let still_gone = item("memes/long-gone.png", 3, false, None);
    let moved_back = item("memes/was.png", 4, false, None);
    let triage = triage(
        vec![gone.clone(), back.clone(), still_gone, moved_back.clone()],
        vec![entry("memes/back.png", None), entry("merch/is.png", None)],
    );
    assert_eq!(paths_to_read(&triage), ["merch/is.png"], "back at its path: judged by its listing");
    let plan = triage.finish(reads(vec![("merch/is.png", png("merch/is.png", 4))]));
    assert_eq!(plan.summary, SyncSummary { removed: 1, reactivated: 2, ..SyncSummary::default() });
    assert_eq!(plan.changes.removed, [gone.id], "an item removed before is not removed again");
    let updated: Vec<(MediaId, &str, bool)> =
        plan.changes.updated.iter().map(|u| (u.id, u.path.as_str(), u.active)).collect();
    assert_eq!(updated, [(back.id, "memes/back.png", true), (moved_back.id, "merch/is.png", true)]);
}

#[test]
fn a_file_that_cannot_be_read_is_refused_and_the_rest_goes_on() {
    let known = item("memes/changed.png", 1, true, None);
    let mut changed = entry("memes/changed.png", None);
    changed.size_bytes = 5;
    let triage = triage(vec![known], vec![changed, entry("memes/broken.png", None), entry("memes/fine.png", None)]);
    let plan = triage.finish(reads(vec![
        ("memes/changed.png", Err("it vanished or cannot be read".to_owned())),
        ("memes/broken.png", Err("it could not be read from the media source".to_owned())),
        ("memes/fine.png", png("memes/fine.png", 2)),
    ]));
    assert_eq!(plan.summary.added, 1);
    let refused: Vec<&str> = plan.summary.refused.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(refused, ["memes/broken.png", "memes/changed.png"]);
    assert!(plan.changes.removed.is_empty(), "an item whose file is there but unreadable stays");
    assert!(plan.changes.updated.is_empty());
}

#[test]
fn files_index_media_would_refuse_are_refused_with_its_reasons() {
    let not_media = Ok(SourceFile {
        path: "memes/notes.png".to_owned(),
        extension: "png".to_owned(),
        size_bytes: 12,
        sha256: hash(9),
        content: MediaContent::Other("text".to_owned()),
    });
    let triage = triage(Vec::new(), vec![entry("memes/notes.png", None), entry("Bad Folder!/a.png", None)]);
    let plan =
        triage.finish(reads(vec![("memes/notes.png", not_media), ("Bad Folder!/a.png", png("Bad Folder!/a.png", 3))]));
    assert_eq!(plan.summary.added, 0);
    let refused: Vec<&str> = plan.summary.refused.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(refused, ["Bad Folder!/a.png", "memes/notes.png"]);
    assert!(plan.summary.refused[0].1.contains("is not a category name"), "{:?}", plan.summary.refused);
}

#[test]
fn new_content_at_a_known_path_replaces_the_items_content_and_keeps_its_id() {
    let known = item("memes/a.png", 1, true, None);
    let mut changed = entry("memes/a.png", None);
    changed.modified = Some(at(7));
    let triage = triage(vec![known.clone()], vec![changed]);
    let plan = triage.finish(reads(vec![("memes/a.png", png("memes/a.png", 2))]));
    assert_eq!(plan.summary.added, 1);
    let [update] = plan.changes.updated.as_slice() else { panic!("one update: {plan:?}") };
    assert_eq!(update.id, known.id);
    assert_eq!(update.content.as_ref().map(|c| c.hash.as_str().to_owned()), Some(hash(2)));
}

#[test]
fn listed_times_are_compared_to_the_microsecond_the_stores_keep() {
    let mut known = item("memes/a.png", 1, true, None);
    known.modified = Some(at(1) + chrono::Duration::microseconds(5));
    let mut listed = entry("memes/a.png", None);
    listed.modified = Some(at(1) + chrono::Duration::nanoseconds(5_789));
    let triage = triage(vec![known], vec![listed]);
    assert!(triage.to_read().is_empty());
    assert_eq!(triage.finish(HashMap::new()).summary.unchanged, 1);
}
