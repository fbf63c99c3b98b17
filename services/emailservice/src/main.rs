use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        emailservice::INFO,
        emailservice::Config::from_env,
        emailservice::serve,
    )
}
