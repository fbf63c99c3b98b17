use std::process::ExitCode;

fn main() -> ExitCode {
    boutique_runtime::run(frontend::INFO, frontend::Config::from_env, frontend::serve)
}
