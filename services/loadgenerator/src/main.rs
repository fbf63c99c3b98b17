//! `loadgenerator`: configured by environment variables (`FRONTEND_ADDR`,
//! `USERS`, `RATE`, `DURATION`, `MAX_REQUESTS`, `WAIT_MIN`, `WAIT_MAX`,
//! `MAX_FAILURE_RATE`) or the same names as `--flags` (`--users 5`).

use std::{process::ExitCode, time::Duration};

use boutique_runtime::Env;

fn main() -> ExitCode {
    let mut pairs: Vec<(String, String)> = std::env::vars().collect();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(name) = flag.strip_prefix("--") else {
            eprintln!("loadgenerator: unexpected argument {flag:?} (flags look like --users 10)");
            return ExitCode::from(2);
        };
        let Some(value) = it.next() else {
            eprintln!("loadgenerator: {flag} needs a value");
            return ExitCode::from(2);
        };
        pairs.push((name.replace('-', "_").to_ascii_uppercase(), value.clone()));
    }
    let config = match loadgenerator::Config::from_env(&Env::from_pairs(pairs)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("loadgenerator: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgenerator: {e}");
            return ExitCode::from(1);
        }
    };
    let report = rt.block_on(async {
        let stop = tokio_util::sync::CancellationToken::new();
        let s = stop.clone();
        tokio::spawn(async move {
            boutique_runtime::run::termination_signal().await;
            s.cancel();
        });
        eprintln!(
            "loadgenerator: {} users at {}/s against http://{} (duration {:?}, max requests {:?})",
            config.users, config.rate, config.frontend_addr, config.duration, config.max_requests
        );
        loadgenerator::run(&config, stop, Duration::from_secs(5)).await
    });
    print!("{}", report.table());
    for f in &report.failure_samples {
        eprintln!("failure: {f}");
    }
    if report.requests() == 0 {
        eprintln!("loadgenerator: no request was made");
        return ExitCode::from(1);
    }
    if report.failure_rate() > config.max_failure_rate {
        eprintln!(
            "loadgenerator: failure rate {:.2}% exceeds the allowed {:.2}%",
            report.failure_rate() * 100.0,
            config.max_failure_rate * 100.0
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
