use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        adservice::INFO,
        adservice::Config::from_env,
        adservice::serve,
    )
}
