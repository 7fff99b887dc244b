//! The `pve-ha` multi-call executable: dispatch only. Every role lives in
//! the library (`pve_ha::cli`).

fn main() {
    let code = pve_ha::cli::dispatch(std::env::args_os().collect());
    std::process::exit(code);
}
