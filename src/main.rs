//! The `cfpd` binary: see `cfpd --help`.

/// mimalloc instead of glibc's allocator: intake allocates many short-lived
/// strings on several threads at once, where glibc spent a fifth of the CPU
/// in malloc/free (measured with `perf` on `cargo bench --bench intake`).
/// Built with `override` (SQLite's own allocations go through it too) and
/// `no_thp` (no transparent huge pages: each fresh 2 MiB was zeroed whole);
/// Cargo.toml says what each bought.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match cfpd::cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cfpd: {}", cfpd::cli::error_text(&e));
            // `cfpd status` found something that needs attention (it printed why).
            if e.is::<cfpd::cli::status::NeedsAttention>() {
                return std::process::ExitCode::from(2);
            }
            std::process::ExitCode::FAILURE
        }
    }
}
