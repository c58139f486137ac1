//! The library commands of the real `storyline` binary (FEATURES C1): `index-media` takes only
//! real media and says what changed, `list-media` shows sizes and what it left out, and the
//! listings print JSON for scripts. On SQLite and on PostgreSQL; test names read
//! `backend::behaviour`.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, ensure};
use serde_json::Value;
use storyline_tests::files::{jpeg, mp4, png};
use storyline_tests::{Backend, TestResult};

const CHAT: &str = "-100123";

/// Runs the binary on `backend`'s database in `dir`.
fn storyline(backend: &Backend, dir: &Path, args: &[&str]) -> anyhow::Result<Output> {
    let url = backend.database_url().context("a database")?;
    Ok(Command::new(env!("CARGO_BIN_EXE_storyline"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", url)
        .env("MEDIA_DIR", dir.join("media"))
        .output()?)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Indexes `media` below `dir`: what it printed, after checking it succeeded.
fn index(backend: &Backend, dir: &Path) -> anyhow::Result<String> {
    let indexed = storyline(backend, dir, &["index-media", "--chat", CHAT])?;
    ensure!(indexed.status.success(), "{}", text(&indexed.stderr));
    Ok(text(&indexed.stdout))
}

fn listed_json(backend: &Backend, dir: &Path, args: &[&str]) -> anyhow::Result<Value> {
    let listed = storyline(backend, dir, args)?;
    ensure!(listed.status.success(), "{}", text(&listed.stderr));
    serde_json::from_slice(&listed.stdout).with_context(|| format!("JSON from {args:?}: {}", text(&listed.stdout)))
}

fn paths(media: &Value) -> Vec<String> {
    media.as_array().into_iter().flatten().filter_map(|m| m["path"].as_str().map(str::to_owned)).collect()
}

pub async fn index_media_refuses_what_is_not_real_media_with_a_reason_and_stores_none_of_it(
    backend: Backend,
) -> TestResult {
    let dir = tempfile::tempdir()?;
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("memes"))?;
    std::fs::create_dir_all(media.join("clips"))?;
    std::fs::write(media.join("memes/a.png"), png(1080, 1920, "a"))?;
    std::fs::write(media.join("memes/b.jpg"), jpeg(1080, 1920, "b"))?;
    std::fs::write(media.join("memes/broken.png"), b"this is a text file, not a picture\n")?;
    let noise: Vec<u8> = (0_u32..2048).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(media.join("memes/noise.jpg"), &noise)?;
    std::fs::write(media.join("clips/noise.mp4"), &noise)?;
    std::fs::write(media.join("memes/png-named.jpg"), png(1080, 1920, "renamed"))?;
    std::fs::write(media.join("clips/clip.mp4"), mp4(1080, 1920, 10))?;
    std::fs::write(media.join("clips/long.mp4"), mp4(1080, 1920, 75))?;
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", media.join("memes/link.png"))?;

    let said = index(&backend, dir.path())?;
    for line in [
        "refused  memes/broken.png: not a PNG (content is text)",
        "refused  memes/noise.jpg: not a JPEG (content is unrecognised data)",
        "refused  clips/noise.mp4: not an MP4 or MOV video (content is unrecognised data)",
        "refused  memes/png-named.jpg: not a JPEG (content is a PNG image; rename it to .png)",
        "refused  clips/long.mp4: video is 75 s; stories take 3–60 s",
        "added    memes/a.png",
        "added    memes/b.jpg",
        "added    clips/clip.mp4",
    ] {
        ensure!(said.lines().any(|l| l == line), "{line:?} in:\n{said}");
    }
    #[cfg(unix)]
    ensure!(said.contains("refused  memes/link.png: a link to outside the library"), "{said}");
    ensure!(said.contains(": 3 added,"), "{said}");

    let stored = listed_json(&backend, dir.path(), &["list-media", "--json", "--chat", CHAT])?;
    ensure!(paths(&stored) == ["clips/clip.mp4", "memes/a.png", "memes/b.jpg"], "only real media: {stored}");
    for item in stored.as_array().into_iter().flatten() {
        ensure!(item["width"] == 1080 && item["height"] == 1920, "real pixel sizes: {item}");
    }
    Ok(())
}

pub async fn reindexing_prints_a_summary_and_lines_only_for_what_changed_or_was_refused(
    backend: Backend,
) -> TestResult {
    let dir = tempfile::tempdir()?;
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("memes"))?;
    std::fs::create_dir_all(media.join("merch"))?;
    std::fs::write(media.join("memes/a.png"), png(1080, 1920, "a"))?;
    std::fs::write(media.join("memes/b.png"), png(1080, 1920, "b"))?;
    std::fs::write(media.join("merch/mug.png"), png(1080, 1080, "mug"))?;
    std::fs::write(media.join("merch/notes.txt"), b"price list")?;

    let first = index(&backend, dir.path())?;
    ensure!(first.lines().filter(|l| l.starts_with("added ")).count() == 3, "{first}");
    ensure!(first.contains("warning  merch/mug.png: 1080×1080 is far from 9:16"), "{first}");
    ensure!(first.ends_with("4 files: 3 added, 1 refused; 1 warning\n"), "one warning, singular: {first}");

    std::fs::write(media.join("memes/zz-copy.png"), png(1080, 1920, "a"))?;
    let again = index(&backend, dir.path())?;
    ensure!(
        again
            == "refused  merch/notes.txt: \"txt\" is not a story format (JPEG, PNG, MP4 or MOV)\n\
                same     memes/zz-copy.png is the same as memes/a.png, already in the library\n\
                5 files: 0 added, 3 unchanged, 1 duplicate, 1 refused\n",
        "nothing about unchanged files, the copy named first, no warning again:\n{again}"
    );
    Ok(())
}

pub async fn list_media_shows_real_sizes_and_says_how_many_more_there_are(backend: Backend) -> TestResult {
    let dir = tempfile::tempdir()?;
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("memes"))?;
    for name in ["a", "b", "c", "d", "e"] {
        std::fs::write(media.join(format!("memes/{name}.jpg")), jpeg(720, 1280, name))?;
    }
    index(&backend, dir.path())?;
    let size = std::fs::metadata(media.join("memes/a.jpg"))?.len();

    let listed = storyline(&backend, dir.path(), &["list-media", "--limit", "2", "--chat", CHAT])?;
    let shown = text(&listed.stdout);
    ensure!(listed.status.success(), "{}", text(&listed.stderr));
    ensure!(!shown.contains("0.0 MB"), "{shown}");
    let row = shown.lines().find(|l| l.contains("memes/a.jpg")).context("a row for a.jpg")?;
    let cell = row.split('┆').nth(3).context("a size column")?.trim();
    let kb: u64 = cell.strip_suffix(" KB").and_then(|n| n.parse().ok()).with_context(|| format!("KB: {cell}"))?;
    ensure!(kb.abs_diff(size / 1024) <= 1, "{cell} for {size} bytes");
    ensure!(shown.contains("… and 3 more; use --limit 5 to list them all"), "{shown}");
    let everything = text(&storyline(&backend, dir.path(), &["list-media", "--limit", "5", "--chat", CHAT])?.stdout);
    ensure!(!everything.contains("more"), "{everything}");
    let json = storyline(&backend, dir.path(), &["list-media", "--json", "--limit", "2", "--chat", CHAT])?;
    ensure!(text(&json.stderr).contains("… and 3 more"), "the note goes to stderr: {}", text(&json.stderr));
    ensure!(serde_json::from_slice::<Value>(&json.stdout)?.as_array().map(Vec::len) == Some(2));
    Ok(())
}

pub async fn the_library_listings_print_json_for_scripts(backend: Backend) -> TestResult {
    let dir = tempfile::tempdir()?;
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("memes"))?;
    std::fs::create_dir_all(media.join("merch"))?;
    std::fs::write(media.join("memes/a.png"), png(1080, 1920, "a"))?;
    std::fs::write(media.join("merch/b.png"), png(1080, 1920, "b"))?;
    index(&backend, dir.path())?;

    let categories = listed_json(&backend, dir.path(), &["list-categories", "--json", "--chat", CHAT])?;
    ensure!(categories[0]["category"] == "memes" && categories[0]["media"] == 1, "{categories}");
    ensure!(categories[0]["mix_percent"].is_null(), "no mix yet: {categories}");
    let set = storyline(&backend, dir.path(), &["category-mix", "set", "memes=70", "merch=30", "--chat", CHAT])?;
    ensure!(set.status.success(), "{}", text(&set.stderr));
    let categories = listed_json(&backend, dir.path(), &["list-categories", "--json", "--chat", CHAT])?;
    ensure!(categories[1]["category"] == "merch" && categories[1]["mix_percent"] == 30, "{categories}");

    let history = listed_json(&backend, dir.path(), &["category-mix", "history", "--json", "--chat", CHAT])?;
    let [current] = history.as_array().map(Vec::as_slice).unwrap_or_default() else {
        anyhow::bail!("one version: {history}")
    };
    ensure!(current["mix"]["memes"] == 70 && current["mix"]["merch"] == 30, "{current}");
    ensure!(current["valid_to"].is_null() && current["set_by"] == "cli", "{current}");
    ensure!(current["valid_from"].as_str().is_some_and(|at| chrono::DateTime::parse_from_rfc3339(at).is_ok()));

    let media = listed_json(&backend, dir.path(), &["list-media", "--json", "--chat", CHAT])?;
    ensure!(media[0]["kind"] == "image" && media[0]["category"] == "memes" && media[0]["times_posted"] == 0);
    ensure!(media[0]["size_bytes"].as_u64() == Some(std::fs::metadata(dir.path().join("media/memes/a.png"))?.len()));
    Ok(())
}

pub async fn the_sample_media_indexes_as_the_readme_says(backend: Backend) -> TestResult {
    let dir = tempfile::tempdir()?;
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sample-media");
    let indexed = storyline(&backend, dir.path(), &["index-media", &samples.display().to_string(), "--chat", CHAT])?;
    let said = text(&indexed.stdout);
    ensure!(indexed.status.success(), "{}", text(&indexed.stderr));
    ensure!(said.lines().filter(|l| l.starts_with("added ")).count() == 5, "{said}");
    ensure!(said.contains("warning  merch/mug.png: 1080×1350 is far from 9:16"), "{said}");
    ensure!(said.contains("5 files: 5 added; 1 warning"), "{said}");
    Ok(())
}

pub async fn sync_media_prints_the_summary_as_a_table_and_refuses_a_missing_folder(backend: Backend) -> TestResult {
    let dir = tempfile::tempdir()?;
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("memes"))?;
    std::fs::write(media.join("memes/a.png"), png(1080, 1920, "a"))?;
    std::fs::write(media.join("memes/notes.png"), b"not a picture\n")?;
    let synced = storyline(&backend, dir.path(), &["sync-media", "--chat", CHAT])?;
    ensure!(synced.status.success(), "{}", text(&synced.stderr));
    let out = text(&synced.stdout);
    ensure!(out.contains("refused  memes/notes.png: "), "{out}");
    for header in ["Added", "Moved", "Removed", "Reactivated", "Refused", "Unchanged"] {
        ensure!(out.contains(header), "{header} in {out}");
    }
    let row = out.lines().find(|l| l.contains('1') && !l.contains("refused")).context("the counts")?;
    let counts: Vec<&str> = row.split(['│', '┆', '|']).map(str::trim).filter(|c| !c.is_empty()).collect();
    ensure!(counts == ["1", "0", "0", "0", "1", "0"], "{counts:?} in {out}");
    std::fs::remove_file(media.join("memes/a.png"))?;
    let again = text(&storyline(&backend, dir.path(), &["sync-media", "--chat", CHAT])?.stdout);
    let row = again.lines().rev().find(|l| l.contains('1')).context("the counts")?;
    let counts: Vec<&str> = row.split(['│', '┆', '|']).map(str::trim).filter(|c| !c.is_empty()).collect();
    ensure!(counts == ["0", "0", "1", "0", "1", "0"], "{counts:?} in {again}");
    std::fs::rename(&media, dir.path().join("gone"))?;
    let refused = storyline(&backend, dir.path(), &["sync-media", "--chat", CHAT])?;
    ensure!(refused.status.code() == Some(2), "{refused:?}");
    let err = text(&refused.stderr);
    ensure!(err.trim_end().lines().count() == 1, "one line: {err}");
    ensure!(err.starts_with("storyline: the media source cannot be reached: there is no folder"), "{err}");
    Ok(())
}

storyline_tests::on_backends!([sqlite, postgres] [
    sync_media_prints_the_summary_as_a_table_and_refuses_a_missing_folder,
    index_media_refuses_what_is_not_real_media_with_a_reason_and_stores_none_of_it,
    reindexing_prints_a_summary_and_lines_only_for_what_changed_or_was_refused,
    list_media_shows_real_sizes_and_says_how_many_more_there_are,
    the_library_listings_print_json_for_scripts,
    the_sample_media_indexes_as_the_readme_says,
]);
