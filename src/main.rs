//! The `cfpd` binary: see `cfpd --help`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match cfpd::cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cfpd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
