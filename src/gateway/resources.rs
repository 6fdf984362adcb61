//! Room to work: free space and free inodes on each filesystem holding OpenClaw's state,
//! claw's state and the gateway's logs (a full disk stops the gateway writing sessions and
//! claw writing backups), and the gateway's memory growth. Readings via statvfs(3).

use super::exposure::Finding;
use crate::notify::Severity;
use serde::Serialize;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One filesystem, named by the first watched path on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fs {
    /// What lives there (`openclaw`, `claw state`, `gateway logs`), joined when shared.
    pub holds: String,
    pub path: PathBuf,
    pub total_bytes: u64,
    pub avail_bytes: u64,
    pub total_inodes: u64,
    pub avail_inodes: u64,
}

impl Fs {
    /// Free space as a fraction (1.0 when the size is unknown).
    pub fn free_ratio(&self) -> f64 {
        ratio(self.avail_bytes, self.total_bytes)
    }
    pub fn inodes_free_ratio(&self) -> f64 {
        ratio(self.avail_inodes, self.total_inodes)
    }
}

fn ratio(a: u64, t: u64) -> f64 {
    if t == 0 {
        1.0
    } else {
        a as f64 / t as f64
    }
}

/// statvfs of `path`: (total bytes, available bytes, total inodes, available inodes).
pub fn statvfs(path: &Path) -> std::io::Result<(u64, u64, u64, u64)> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: `c` is a valid C string for the call; `st` is plain data the call fills.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let frsize = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    } as u64;
    Ok((
        st.f_blocks as u64 * frsize,
        st.f_bavail as u64 * frsize,
        st.f_files as u64,
        st.f_favail as u64,
    ))
}

/// Measure each distinct filesystem among `paths` (label, path); missing paths are skipped.
pub fn measure(paths: &[(&str, PathBuf)]) -> Vec<Fs> {
    let mut out: Vec<(u64, Fs)> = Vec::new();
    for (label, p) in paths {
        let Ok(meta) = std::fs::metadata(p) else {
            continue;
        };
        if let Some((_, fs)) = out.iter_mut().find(|(dev, _)| *dev == meta.dev()) {
            if !fs.holds.split(", ").any(|h| h == *label) {
                fs.holds.push_str(", ");
                fs.holds.push_str(label);
            }
            continue;
        }
        if let Ok((tb, ab, ti, ai)) = statvfs(p) {
            out.push((
                meta.dev(),
                Fs {
                    holds: label.to_string(),
                    path: p.clone(),
                    total_bytes: tb,
                    avail_bytes: ab,
                    total_inodes: ti,
                    avail_inodes: ai,
                },
            ));
        }
    }
    out.into_iter().map(|(_, f)| f).collect()
}

/// Findings for filesystems below the thresholds (percent free).
pub fn judge(fss: &[Fs], warn_pct: f64, crit_pct: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    for fs in fss {
        for (what, r, id) in [
            ("space", fs.free_ratio(), "disk.space_low"),
            ("inodes", fs.inodes_free_ratio(), "disk.inodes_low"),
        ] {
            let pct = r * 100.0;
            let severity = if pct < crit_pct {
                Severity::Critical
            } else if pct < warn_pct {
                Severity::Warning
            } else {
                continue;
            };
            out.push(Finding {
                id: format!("{id}:{}", fs.path.display()),
                severity,
                message: format!(
                    "{:.1} % free {what} on the filesystem of {} ({}){}",
                    pct,
                    fs.path.display(),
                    fs.holds,
                    if what == "space" {
                        format!(", {} MiB left", fs.avail_bytes / (1024 * 1024))
                    } else {
                        String::new()
                    }
                ),
                fix: if what == "space" {
                    format!("free space: `du -xsh {}/* | sort -h`; `claw config prune`, `claw compaction-backup prune`", fs.path.display())
                } else {
                    format!("remove small files: `find {} -xdev -type f | cut -d/ -f1-4 | sort | uniq -c | sort -n`", fs.path.display())
                },
                source: "claw",
            });
        }
    }
    out
}

/// RSS growth of one gateway process since claw first saw it.
pub fn rss_growth(
    baseline: Option<u64>,
    now: Option<u64>,
    warn_pct: f64,
    min_mib: u64,
) -> Option<Finding> {
    let (b, n) = (baseline?, now?);
    if warn_pct <= 0.0 || b == 0 || n <= b {
        return None;
    }
    let grown = (n - b) as f64 / b as f64 * 100.0;
    if grown < warn_pct || n < min_mib * 1024 * 1024 {
        return None;
    }
    Some(Finding {
        id: "gateway.rss_growth".into(),
        severity: Severity::Warning,
        message: format!(
            "gateway RSS grew {:.0} % since claw first saw this process ({} MiB -> {} MiB)",
            grown,
            b / (1024 * 1024),
            n / (1024 * 1024)
        ),
        fix: "restart the gateway at a quiet hour (`claw gateway check` keeps watching); report the growth upstream if it repeats".into(),
        source: "claw",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(avail: u64, inodes: u64) -> Fs {
        Fs {
            holds: "openclaw".into(),
            path: "/h".into(),
            total_bytes: 1000,
            avail_bytes: avail,
            total_inodes: 1000,
            avail_inodes: inodes,
        }
    }

    #[test]
    fn thresholds() {
        assert!(judge(&[fs(500, 500)], 10.0, 5.0).is_empty());
        let f = judge(&[fs(80, 30)], 10.0, 5.0);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].id, "disk.space_low:/h");
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[1].id, "disk.inodes_low:/h");
        assert_eq!(f[1].severity, Severity::Critical);
    }

    #[test]
    fn the_live_filesystem_measures_once_per_device() {
        let d = std::env::temp_dir();
        let m = measure(&[
            ("a", d.clone()),
            ("b", d.clone()),
            ("c", "/nonexistent".into()),
        ]);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].holds, "a, b");
        assert!(m[0].total_bytes > 0 && m[0].avail_bytes <= m[0].total_bytes);
    }

    #[test]
    fn rss() {
        let mib = 1024 * 1024;
        assert!(rss_growth(Some(300 * mib), Some(500 * mib), 200.0, 256).is_none());
        let f = rss_growth(Some(300 * mib), Some(1000 * mib), 200.0, 256).unwrap();
        assert!(f.message.contains("233 %"), "{}", f.message);
        // Small processes are never reported.
        assert!(rss_growth(Some(10 * mib), Some(100 * mib), 200.0, 256).is_none());
        assert!(rss_growth(None, Some(100 * mib), 200.0, 0).is_none());
    }
}
