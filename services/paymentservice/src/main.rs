use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        paymentservice::INFO,
        paymentservice::Config::from_env,
        paymentservice::serve,
    )
}
