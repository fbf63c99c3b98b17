use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        productcatalogservice::INFO,
        productcatalogservice::Config::from_env,
        productcatalogservice::serve,
    )
}
