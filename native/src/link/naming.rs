//! Userspace expansion of kernel name patterns such as `nlmon%d`.
//!
//! Linux 6.1 does not honour NLM_F_ECHO on RTM_NEWLINK, so a name chosen by the kernel cannot be
//! learnt reliably. Instead we pick the name the kernel's `__dev_alloc_name()` would pick
//! (net/core/dev.c) and create the link under that explicit name with NLM_F_EXCL, retrying on
//! EEXIST. Only patterns the kernel would accept are expanded; anything else is sent verbatim
//! so that the kernel gives its own verdict.

use std::collections::HashSet;

/// `IFNAMSIZ` (16, from libc): names hold at most 15 bytes plus the NUL.
pub use libc::IFNAMSIZ;
/// The kernel's `max_netdevices` (8 * PAGE_SIZE bits on x86-64).
pub const MAX_NETDEVICES: u32 = 8 * 4096;

/// A `prefix%dsuffix` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    prefix: String,
    suffix: String,
}

/// What to send as IFLA_IFNAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePlan {
    /// Send as is.
    Verbatim(String),
    /// Expand in userspace.
    Pattern(Pattern),
}

/// The kernel's `dev_valid_name()`.
pub fn dev_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < IFNAMSIZ
        && name != "."
        && name != ".."
        && !name.bytes().any(|b| {
            b == b'/' || b == b':' || matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
            // lib/ctype.c isspace()
        })
}

/// Decide how to name a new link: `name` from the request, else `<kind>%d`.
pub fn plan(name: Option<&str>, kind: &str) -> NamePlan {
    // At creation the kernel names an empty IFLA_IFNAME itself (`<kind>%d`), so "" means "no name".
    let wanted = match name {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => format!("{kind}%d"),
    };
    // Exactly one '%', immediately followed by 'd', in a name the kernel would accept as a pattern.
    let mut parts = wanted.splitn(2, '%');
    let (Some(prefix), Some(rest)) = (parts.next(), parts.next()) else {
        return NamePlan::Verbatim(wanted);
    };
    let Some(suffix) = rest.strip_prefix('d') else {
        return NamePlan::Verbatim(wanted);
    };
    if suffix.contains('%') || !dev_valid_name(&wanted) {
        return NamePlan::Verbatim(wanted);
    }
    NamePlan::Pattern(Pattern {
        prefix: prefix.to_string(),
        suffix: suffix.to_string(),
    })
}

impl Pattern {
    /// `snprintf(buf, IFNAMSIZ, pattern, n)`: formatted and cut to 15 bytes.
    /// `None` if the cut would split a UTF-8 character.
    pub fn format(&self, n: u32) -> Option<String> {
        let full = format!("{}{}{}", self.prefix, n, self.suffix);
        if full.len() < IFNAMSIZ {
            return Some(full);
        }
        let cut = &full.as_bytes()[..IFNAMSIZ - 1];
        String::from_utf8(cut.to_vec()).ok()
    }

    /// The number `sscanf(name, pattern, &i)` reads from `name`, if it is one the kernel would
    /// count as taken (i.e. formatting it again gives back `name`).
    fn taken_number(&self, name: &str) -> Option<u32> {
        let rest = name.strip_prefix(self.prefix.as_str())?;
        let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        let n: u32 = digits.parse().ok()?;
        (n < MAX_NETDEVICES && self.format(n).as_deref() == Some(name)).then_some(n)
    }

    /// The name the kernel's `__dev_alloc_name()` would choose, given every name (and altname)
    /// in use plus names we already failed with. `None` when the kernel would answer ENFILE.
    pub fn candidate<'a, I>(&self, existing: I, failed: &HashSet<String>) -> Option<String>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut in_use: HashSet<&str> = HashSet::new();
        let mut taken = vec![false; MAX_NETDEVICES as usize];
        for name in existing {
            in_use.insert(name);
            if let Some(n) = self.taken_number(name) {
                taken[n as usize] = true;
            }
        }
        for name in failed {
            in_use.insert(name.as_str());
            if let Some(n) = self.taken_number(name) {
                taken[n as usize] = true;
            }
        }
        // find_first_zero_bit(); with every bit set the kernel still tries MAX_NETDEVICES.
        let n = taken
            .iter()
            .position(|t| !t)
            .map_or(MAX_NETDEVICES, |i| i as u32);
        let name = self.format(n)?;
        (!in_use.contains(name.as_str())).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(name: Option<&str>, kind: &str) -> Pattern {
        match plan(name, kind) {
            NamePlan::Pattern(p) => p,
            other => panic!("expected a pattern, got {other:?}"),
        }
    }

    fn cand(p: &Pattern, names: &[&str]) -> Option<String> {
        p.candidate(names.iter().copied(), &HashSet::new())
    }

    #[test]
    fn plans() {
        // An empty name is the kernel's "pick one for me".
        assert_eq!(pattern(Some(""), "nlmon"), pattern(None, "nlmon"));
        assert_eq!(
            pattern(None, "nlmon"),
            Pattern {
                prefix: "nlmon".into(),
                suffix: "".into()
            }
        );
        assert_eq!(
            pattern(Some("cap%d"), "nlmon"),
            Pattern {
                prefix: "cap".into(),
                suffix: "".into()
            }
        );
        assert_eq!(
            pattern(Some("a%db"), "nlmon"),
            Pattern {
                prefix: "a".into(),
                suffix: "b".into()
            }
        );
        assert_eq!(
            pattern(Some("%d"), "x"),
            Pattern {
                prefix: "".into(),
                suffix: "".into()
            }
        );
        for verbatim in [
            "nlmon0",
            "a%s",
            "a%",
            "%%d",
            "a%d%d",
            "a%d%",
            "a b%d",
            "a/%d",
            "a:%d",
            "exactly16bytes%d", // 16 bytes: the kernel's policy answers ERANGE
            "a\t%d",
        ] {
            assert_eq!(
                plan(Some(verbatim), "nlmon"),
                NamePlan::Verbatim(verbatim.into()),
                "{verbatim:?}"
            );
        }
        assert_eq!(
            plan(None, "averyveryverylongkind"),
            NamePlan::Verbatim("averyveryverylongkind%d".into())
        );
    }

    #[test]
    fn lowest_free_number() {
        let p = pattern(None, "nlmon");
        assert_eq!(cand(&p, &[]).as_deref(), Some("nlmon0"));
        assert_eq!(cand(&p, &["lo", "nlmon0"]).as_deref(), Some("nlmon1"));
        assert_eq!(cand(&p, &["nlmon0", "nlmon2"]).as_deref(), Some("nlmon1"));
        assert_eq!(cand(&p, &["nlmon1"]).as_deref(), Some("nlmon0"));
        // Names that sscanf reads but that do not print back the same are not counted.
        assert_eq!(
            cand(&p, &["nlmon00", "nlmon+0", "nlmon0x"]).as_deref(),
            Some("nlmon0")
        );
        let mut failed = HashSet::new();
        failed.insert("nlmon0".to_string());
        assert_eq!(p.candidate(["lo"], &failed).as_deref(), Some("nlmon1"));
    }

    #[test]
    fn suffix_patterns() {
        let p = pattern(Some("cap%dx"), "nlmon");
        assert_eq!(cand(&p, &["cap0x", "cap0"]).as_deref(), Some("cap1x"));
    }

    #[test]
    fn truncation_like_snprintf() {
        let p = pattern(Some("abcdefghijklm%d"), "nlmon"); // 15 bytes
        assert_eq!(p.format(9).as_deref(), Some("abcdefghijklm9"));
        assert_eq!(p.format(10).as_deref(), Some("abcdefghijklm10"));
        assert_eq!(p.format(100).as_deref(), Some("abcdefghijklm10"));
        let names: Vec<String> = (0..100).map(|n| format!("abcdefghijklm{n}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        // The kernel picks 100, prints "abcdefghijklm10", finds it in use: ENFILE.
        assert_eq!(cand(&p, &refs), None);
    }

    #[test]
    fn all_numbers_taken() {
        let p = pattern(Some("n%d"), "x");
        let names: Vec<String> = (0..MAX_NETDEVICES).map(|n| format!("n{n}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(cand(&p, &refs).as_deref(), Some("n32768"));
    }

    #[test]
    fn valid_names() {
        assert!(dev_valid_name("nlmon0"));
        assert!(dev_valid_name("fifteen_bytes_x"));
        assert!(!dev_valid_name("sixteen_bytes_xx"));
        assert!(!dev_valid_name("."));
        assert!(!dev_valid_name(".."));
        assert!(!dev_valid_name("a/b"));
        assert!(!dev_valid_name("a:b"));
        assert!(!dev_valid_name("a b"));
        assert!(!dev_valid_name(""));
    }
}
