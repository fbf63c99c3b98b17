use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        checkoutservice::INFO,
        checkoutservice::Config::from_env,
        checkoutservice::serve,
    )
}
