use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        currencyservice::INFO,
        currencyservice::Config::from_env,
        currencyservice::serve,
    )
}
