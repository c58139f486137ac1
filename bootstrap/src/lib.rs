//! The composition root: configuration from the environment, the stores chosen by
//! `DATABASE_URL`, the use cases wired to them, and the `storyline` command line.
//!
//! - [`config`]: typed configuration; the only place that reads the environment.
//! - [`wiring`]: opens (and migrates) the store and builds the use cases.
//! - [`cli`]: the subcommands and what each prints.
//! - [`serve`]: the bot on Telegram (`run`) and in a terminal (`console`).
//! - [`logging`]: tracing, as text or JSON.
//! - [`media_http`]: signed, expiring media URLs for Meta (FEATURES M4).
//! - [`replicas`]: this process among the deployment's replicas: heartbeat, singleton jobs.
//! - [`sources`]: each workspace's media source (FEATURES M1).
//! - [`webhook_http`]: Telegram's webhook requests, when `WEBHOOK_URL` is set.

pub mod cli;
pub mod config;
pub mod logging;
pub mod login_http;
pub mod loops;
pub mod media_http;
pub mod replicas;
pub mod serve;
pub mod sources;
pub mod webhook_http;
pub mod wiring;
