//! Listing a 10,000-object bucket on the loopback S3 server (issue 12's re-sync target: ≤ 2 s and
//! no object body read). What it measures is the S3 source's part of a re-sync: the paged
//! ListObjectsV2 (10 pages of 1,000) with sizes, ETags and times, and nothing else.
//!
//! Run: `cargo bench -p storyline-tests --bench s3_list`. It fills a bucket with 10,000 small
//! objects in four categories, lists it three times, and prints each listing's time, the
//! GetObject count (0: no body read) and the process's peak RSS (server and client together).

use std::time::{Duration, Instant};

use anyhow::ensure;
use comfy_table::Table;
use storyline_domain::ports::MediaSource;
use storyline_s3::S3Source;
use storyline_tests::bench::status_kib;
use storyline_tests::s3_server::S3Server;

const OBJECTS: usize = 10_000;
const BUCKET: &str = "library";
const TARGET: Duration = Duration::from_secs(2);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let server = S3Server::with_bucket(BUCKET).await?;
    let categories = ["memes", "quotes", "merch", "team"];
    let filled = Instant::now();
    for i in 0..OBJECTS {
        let category = categories[i % categories.len()];
        server.put(BUCKET, &format!("stories/{category}/{i:05}.jpg"), format!("object {i} of the benchmark"))?;
    }
    println!("filled {OBJECTS} objects in {:.2} s", filled.elapsed().as_secs_f64());

    let source = S3Source::new(&server.config(BUCKET, "stories"), S3Server::secret())?;
    let mut table = Table::new();
    table.set_header(["listing", "entries", "time (ms)", "GetObject calls"]);
    let mut worst = Duration::ZERO;
    for run in 1..=3 {
        let started = Instant::now();
        let entries = source.list().await?;
        let took = started.elapsed();
        worst = worst.max(took);
        ensure!(entries.len() == OBJECTS, "listed {} of {OBJECTS}", entries.len());
        ensure!(entries.iter().all(|e| e.checksum.is_some()), "an entry without its ETag");
        table.add_row([
            run.to_string(),
            entries.len().to_string(),
            format!("{:.1}", took.as_secs_f64() * 1000.0),
            server.get_object_calls().to_string(),
        ]);
    }
    println!("{table}");
    let peak_mib = status_kib(std::process::id(), "VmHWM")? as f64 / 1024.0;
    println!(
        "slowest listing {:.1} ms (target ≤ {} ms), GetObject calls {}, peak RSS {peak_mib:.1} MiB (server and client)",
        worst.as_secs_f64() * 1000.0,
        TARGET.as_millis(),
        server.get_object_calls()
    );
    ensure!(server.get_object_calls() == 0, "a listing read an object body");
    ensure!(worst <= TARGET, "listing took {worst:?}, over the {TARGET:?} target");
    Ok(())
}
