use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        shippingservice::INFO,
        shippingservice::Config::from_env,
        shippingservice::serve,
    )
}
