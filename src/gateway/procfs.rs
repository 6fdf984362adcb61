//! What Linux's /proc says about the gateway: which addresses listen on its port
//! (`/proc/net/tcp` and `tcp6`), which process owns that socket, and that process's RSS and
//! uptime. Parsers are pure (tested on fixture text); readers return nothing rather than fail,
//! since /proc of another user's process is often unreadable.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// One listening TCP socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub addr: IpAddr,
    pub port: u16,
    pub inode: u64,
}

impl Listener {
    /// Reachable only from this host: 127/8, ::1 or ::ffff:127.x.
    pub fn is_loopback(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
        }
    }
}

/// TCP state LISTEN in /proc/net/tcp*.
const LISTEN: &str = "0A";

/// The LISTEN sockets in the text of `/proc/net/tcp` or `/proc/net/tcp6`. Lines that do not
/// parse are skipped (the header, and anything a future kernel adds).
pub fn parse_tcp(text: &str) -> Vec<Listener> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != LISTEN {
                return None;
            }
            let (addr, port) = f[1].split_once(':')?;
            Some(Listener {
                addr: parse_addr(addr)?,
                port: u16::from_str_radix(port, 16).ok()?,
                inode: f[9].parse().ok()?,
            })
        })
        .collect()
}

/// The kernel prints each 32-bit word of the address as the number it is in memory, so the
/// bytes come back with the host's own byte order.
fn parse_addr(hex: &str) -> Option<IpAddr> {
    let word = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(hex)?))),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(&hex[i * 8..i * 8 + 8])?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

/// Every listener on `port`, from the live /proc (both families).
pub fn listeners_on(port: u16) -> Vec<Listener> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|t| parse_tcp(&t))
        .filter(|l| l.port == port)
        .collect()
}

/// The process holding socket `inode` open, among those whose fds this user may read.
pub fn pid_of_socket(inode: u64) -> Option<i32> {
    let want = format!("socket:[{inode}]");
    for ent in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(ent.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path())
                .map(|l| l.as_os_str() == want.as_str())
                .unwrap_or(false)
            {
                return Some(pid);
            }
        }
    }
    None
}

/// Facts about one process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcFacts {
    pub pid: i32,
    pub rss_bytes: Option<u64>,
    pub uptime_secs: Option<u64>,
}

/// `VmRSS:  123 kB` in /proc/<pid>/status, in bytes.
pub fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Field 22 of /proc/<pid>/stat (start time in clock ticks after boot); the command name in
/// field 2 may hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_starttime(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After `)`: field 3 (state) is the first; field 22 is the 20th.
    rest.split_whitespace().nth(19)?.parse().ok()
}

pub fn facts(pid: i32) -> ProcFacts {
    let dir = Path::new("/proc").join(pid.to_string());
    let rss_bytes = std::fs::read_to_string(dir.join("status"))
        .ok()
        .and_then(|s| parse_rss(&s));
    let uptime_secs = (|| {
        let start = parse_starttime(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
        let boot: f64 = std::fs::read_to_string("/proc/uptime")
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if hz <= 0 {
            return None;
        }
        Some((boot - start as f64 / hz as f64).max(0.0) as u64)
    })();
    ProcFacts {
        pid,
        rss_bytes,
        uptime_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn listeners_of_both_families_and_their_reach() {
        let v4 = "\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 00000000:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:4965 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0000000000000000 20 4 30 10 -1
   3: 0A00A8C0:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
";
        let l = parse_tcp(v4);
        assert_eq!(l.len(), 3, "{l:?}");
        assert_eq!(l[0].addr.to_string(), "127.0.0.1");
        assert_eq!(l[0].port, 18789);
        assert!(l[0].is_loopback());
        assert_eq!(l[1].addr.to_string(), "0.0.0.0");
        assert!(!l[1].is_loopback());
        assert_eq!(l[1].inode, 2222);
        assert_eq!(l[2].addr.to_string(), "192.168.0.10");
        assert_eq!(l[2].port, 22);

        let v6 = "\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:4965 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:4965 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6666 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:4965 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1 0000000000000000 100 0 0 10 0
";
        let l = parse_tcp(v6);
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].addr.to_string(), "::1");
        assert!(l[0].is_loopback());
        assert_eq!(l[1].addr.to_string(), "::");
        assert!(!l[1].is_loopback());
        assert!(l[2].is_loopback(), "{:?}", l[2].addr);
    }

    #[test]
    fn rss_and_start_time() {
        assert_eq!(
            parse_rss("Name:\tnode\nVmPeak:\t 9 kB\nVmRSS:\t  204800 kB\n"),
            Some(204800 * 1024)
        );
        assert_eq!(parse_rss("Name: x\n"), None);
        let stat = "4242 (node (gw) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 11 0 987654 1000 200";
        assert_eq!(parse_starttime(stat), Some(987654));
    }

    #[test]
    fn the_live_tables_parse() {
        // Whatever listens here, the reader must not fail on the real files.
        let _ = listeners_on(1);
        let me = facts(std::process::id() as i32);
        assert!(me.rss_bytes.unwrap_or(0) > 0, "{me:?}");
    }
}
