//! How the library commands say what they did: the indexing report (a line per file that was
//! added or refused, then one summary), sizes for people, and the `--json` forms of
//! `list-media`, `list-categories` and `category-mix history`.

use std::io::{self, Write};

use serde_json::{Value, json};
use storyline_application::library::IndexReport;
use storyline_domain::library::{CategoryMix, CategoryStats, MediaItem, MixVersion};
use storyline_domain::source::SyncSummary;

/// `1 warning`, `2 warnings`.
pub(super) fn count(n: u64, thing: &str) -> String {
    if n == 1 { format!("1 {thing}") } else { format!("{n} {thing}s") }
}

fn len(items: &[impl Sized]) -> u64 {
    items.len() as u64
}

/// The report of `index-media`: each added file (with its warnings), each refused file and each
/// duplicate on a line of its own, then a summary. Files already in the library under the same
/// path are only counted.
pub(super) fn index_report(report: &IndexReport, out: &mut dyn Write) -> io::Result<()> {
    for path in &report.added_paths {
        writeln!(out, "added    {path}")?;
        for (_, warning) in report.warnings.iter().filter(|(warned, _)| warned == path) {
            writeln!(out, "warning  {path}: {warning}")?;
        }
    }
    for (path, why) in &report.refused {
        writeln!(out, "refused  {path}: {why}")?;
    }
    for (path, existing) in &report.duplicates {
        writeln!(out, "same     {path} is the same as {existing}, already in the library")?;
    }
    let mut parts = vec![format!("{} added", report.added)];
    if report.unchanged > 0 {
        parts.push(format!("{} unchanged", report.unchanged));
    }
    if !report.duplicates.is_empty() {
        parts.push(count(len(&report.duplicates), "duplicate"));
    }
    if !report.refused.is_empty() {
        parts.push(format!("{} refused", report.refused.len()));
    }
    write!(out, "{}: {}", count(report.seen, "file"), parts.join(", "))?;
    if !report.warnings.is_empty() {
        write!(out, "; {}", count(len(&report.warnings), "warning"))?;
    }
    writeln!(out)
}

/// The summary of `sync-media`: a line per refused file and per warning, then the counts as a
/// table (`Added`, `Moved`, `Removed`, `Reactivated`, `Refused`, `Unchanged`).
pub(super) fn sync_summary(summary: &SyncSummary, out: &mut dyn Write) -> io::Result<()> {
    for (path, why) in &summary.refused {
        writeln!(out, "refused  {path}: {why}")?;
    }
    for (path, warning) in &summary.warnings {
        writeln!(out, "warning  {path}: {warning}")?;
    }
    let mut table = super::table(&["Added", "Moved", "Removed", "Reactivated", "Refused", "Unchanged"]);
    table.add_row(vec![
        summary.added.to_string(),
        summary.moved.to_string(),
        summary.removed.to_string(),
        summary.reactivated.to_string(),
        summary.refused.len().to_string(),
        summary.unchanged.to_string(),
    ]);
    writeln!(out, "{table}")?;
    match summary.dropped_from_queue {
        0 => {}
        1 => writeln!(out, "1 queued story was dropped: its file is gone")?,
        n => writeln!(out, "{n} queued stories were dropped: their files are gone")?,
    }
    Ok(())
}

/// A file size for people: bytes below 1 KB, else KB or MB (of 1024) with one decimal below
/// 10 and none above.
pub(super) fn size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    let scaled = |unit: u64, name: &str| {
        // Tenths of the unit, rounded to the nearest.
        let tenths = (bytes * 10 + unit / 2) / unit;
        if tenths < 100 {
            format!("{}.{} {name}", tenths / 10, tenths % 10)
        } else {
            format!("{} {name}", (tenths + 5) / 10)
        }
    };
    match bytes {
        0..KB => format!("{bytes} B"),
        KB..MB if (bytes * 10 + KB / 2) / KB < 10_240 => scaled(KB, "KB"),
        _ => scaled(MB, "MB"),
    }
}

/// `list-media --json`: one object per item.
pub(super) fn media_json(items: &[MediaItem]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|item| {
                json!({
                    "id": item.id.to_string(),
                    "path": item.path,
                    "category": item.category.as_str(),
                    "kind": item.kind.as_str(),
                    "size_bytes": item.size_bytes,
                    "width": item.width,
                    "height": item.height,
                    "active": item.active,
                    "needs_interaction": item.needs_interaction,
                    "times_posted": item.times_posted,
                    "last_posted_at": item.last_posted_at.map(|at| at.to_rfc3339()),
                    "added_at": item.added_at.to_rfc3339(),
                })
            })
            .collect(),
    )
}

/// `list-categories --json`: one object per category; `mix_percent` is null without a mix.
pub(super) fn categories_json(categories: &[CategoryStats], mix: Option<&CategoryMix>) -> Value {
    Value::Array(
        categories
            .iter()
            .map(|stats| {
                json!({
                    "category": stats.category.as_str(),
                    "media": stats.total,
                    "available": stats.available,
                    "posted": stats.posted,
                    "mix_percent": mix.map(|mix| mix.percent(&stats.category)),
                })
            })
            .collect(),
    )
}

/// `category-mix history --json`: every version, newest first; `valid_to` is null for the
/// current one.
pub(super) fn mix_history_json(versions: &[MixVersion]) -> Value {
    Value::Array(
        versions
            .iter()
            .map(|version| {
                let shares: serde_json::Map<String, Value> =
                    version.mix.shares().map(|(category, percent)| (category.to_string(), json!(percent))).collect();
                json!({
                    "mix": shares,
                    "valid_from": version.valid_from.to_rfc3339(),
                    "valid_to": version.valid_to.map(|at| at.to_rfc3339()),
                    "set_by": version.set_by.to_string(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_b_kb_and_mb_with_sensible_precision() {
        for (bytes, shown) in [
            (0, "0 B"),
            (512, "512 B"),
            (1024, "1.0 KB"),
            (8797, "8.6 KB"),
            (10 * 1024, "10 KB"),
            (250_000, "244 KB"),
            (1_048_575, "1.0 MB"),
            (1_500_000, "1.4 MB"),
            (8 * 1024 * 1024, "8.0 MB"),
            (23_000_000, "22 MB"),
            (100 * 1024 * 1024, "100 MB"),
        ] {
            assert_eq!(size(bytes), shown, "{bytes}");
        }
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1, "warning"), "1 warning");
        assert_eq!(count(0, "warning"), "0 warnings");
        assert_eq!(count(2, "file"), "2 files");
    }

    #[test]
    fn the_report_lists_what_changed_or_was_refused_and_sums_up() -> io::Result<()> {
        let report = IndexReport {
            seen: 6,
            added: 1,
            added_paths: vec!["merch/mug.png".to_owned()],
            unchanged: 3,
            duplicates: vec![("memes/again.png".to_owned(), "memes/a.png".to_owned())],
            refused: vec![("memes/broken.png".to_owned(), "not a PNG (content is text)".to_owned())],
            warnings: vec![("merch/mug.png".to_owned(), "300×300 is far from 9:16".to_owned())],
        };
        let mut out = Vec::new();
        index_report(&report, &mut out)?;
        assert_eq!(
            String::from_utf8_lossy(&out),
            "added    merch/mug.png\n\
             warning  merch/mug.png: 300×300 is far from 9:16\n\
             refused  memes/broken.png: not a PNG (content is text)\n\
             same     memes/again.png is the same as memes/a.png, already in the library\n\
             6 files: 1 added, 3 unchanged, 1 duplicate, 1 refused; 1 warning\n"
        );
        Ok(())
    }
}
