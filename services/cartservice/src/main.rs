use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(
        cartservice::INFO,
        cartservice::Config::from_env,
        cartservice::serve,
    )
}
