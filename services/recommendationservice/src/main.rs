use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        recommendationservice::INFO,
        recommendationservice::Config::from_env,
        recommendationservice::serve,
    )
}
