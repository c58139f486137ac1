use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    storyline::cli::main().await
}
