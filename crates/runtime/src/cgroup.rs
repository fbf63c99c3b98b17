//! CPU limit from the cgroup, so tokio starts as many workers as the
//! container may use rather than one per host core.

use std::{fs, path::Path};

/// The cgroup CPU quota in cores (`cpu.max` on cgroup v2, `cfs_quota/period`
/// on v1), or `None` when unlimited or unknown. `root` is `/` in production.
pub fn cpu_limit(root: &Path) -> Option<f64> {
    let v2 = root.join("sys/fs/cgroup/cpu.max");
    if let Ok(s) = fs::read_to_string(&v2) {
        let mut it = s.split_whitespace();
        let quota = it.next()?;
        let period: f64 = it.next().and_then(|p| p.parse().ok()).unwrap_or(100_000.0);
        if quota == "max" {
            return None;
        }
        let quota: f64 = quota.parse().ok()?;
        return (quota > 0.0 && period > 0.0).then(|| quota / period);
    }
    let v1 = root.join("sys/fs/cgroup/cpu");
    let quota: f64 = fs::read_to_string(v1.join("cpu.cfs_quota_us"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let period: f64 = fs::read_to_string(v1.join("cpu.cfs_period_us"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// Worker threads for the runtime: `TOKIO_WORKER_THREADS` if set, else the
/// cgroup limit rounded up, capped by the cores the process may run on.
pub fn worker_threads(root: &Path, env_override: Option<&str>, available: usize) -> usize {
    if let Some(n) = env_override
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    let available = available.max(1);
    match cpu_limit(root) {
        Some(cores) => (cores.ceil() as usize).clamp(1, available),
        None => available,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_root(files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "cgroup-test-{}-{}",
            std::process::id(),
            files
                .first()
                .map_or("none".to_owned(), |f| f.1.replace(' ', "_"))
        ));
        let _ = fs::remove_dir_all(&dir);
        for (path, content) in files {
            let p = dir.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn v2_quota() {
        let root = fake_root(&[("sys/fs/cgroup/cpu.max", "150000 100000\n")]);
        assert_eq!(cpu_limit(&root), Some(1.5));
        assert_eq!(worker_threads(&root, None, 16), 2);
        assert_eq!(worker_threads(&root, None, 1), 1);
        assert_eq!(worker_threads(&root, Some("3"), 16), 3);
    }

    #[test]
    fn v2_unlimited_and_small() {
        let root = fake_root(&[("sys/fs/cgroup/cpu.max", "max 100000\n")]);
        assert_eq!(cpu_limit(&root), None);
        assert_eq!(worker_threads(&root, None, 8), 8);
        let root = fake_root(&[("sys/fs/cgroup/cpu.max", "20000 100000\n")]);
        assert_eq!(worker_threads(&root, None, 8), 1);
    }

    #[test]
    fn v1_quota() {
        let root = fake_root(&[
            ("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "300000\n"),
            ("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n"),
        ]);
        assert_eq!(cpu_limit(&root), Some(3.0));
        let root = fake_root(&[
            ("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n"),
            ("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n"),
        ]);
        assert_eq!(cpu_limit(&root), None);
    }
}
