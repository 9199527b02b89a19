//! The two clocks a live capture joins: the ring stamps each packet on CLOCK_REALTIME, while the
//! eBPF events (`bpf_ktime_get_ns`) and the proc connector's (`ktime_get_ns`) are on
//! CLOCK_MONOTONIC. The offset between them is taken once, when a capture starts.

/// `clock` now, in ns.
fn now_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec for clock_gettime to fill.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// CLOCK_MONOTONIC now, in ns (the events' clock).
pub fn monotonic_ns() -> u64 {
    u64::try_from(now_ns(libc::CLOCK_MONOTONIC)).unwrap_or(0)
}

/// CLOCK_REALTIME − CLOCK_MONOTONIC now, in ns.
pub fn realtime_offset_ns() -> i128 {
    now_ns(libc::CLOCK_REALTIME) - now_ns(libc::CLOCK_MONOTONIC)
}

/// A realtime stamp (as the ring or a pcap file has it) on CLOCK_MONOTONIC, given
/// `realtime_offset_ns()`; None for a stamp from before boot.
pub fn monotonic_of(sec: u64, nsec: u32, realtime_offset_ns: i128) -> Option<u64> {
    let realtime = i128::from(sec) * 1_000_000_000 + i128::from(nsec);
    u64::try_from(realtime - realtime_offset_ns).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_taken_now_is_now_on_the_monotonic_clock() {
        let offset = realtime_offset_ns();
        let before = monotonic_ns();
        let realtime = now_ns(libc::CLOCK_REALTIME);
        let after = monotonic_ns();
        let (Ok(sec), Ok(nsec)) = (
            u64::try_from(realtime / 1_000_000_000),
            u32::try_from(realtime % 1_000_000_000),
        ) else {
            panic!("CLOCK_REALTIME before 1970: {realtime}");
        };
        let Some(at) = monotonic_of(sec, nsec, offset) else {
            panic!("now ({realtime}) is before boot (offset {offset})");
        };
        // the offset was taken a moment before: allow the time between its two readings
        assert!(
            at + 1_000_000 >= before && at <= after + 1_000_000,
            "{before} <= {at} <= {after}"
        );
    }

    #[test]
    fn a_stamp_from_before_boot_has_no_monotonic_time() {
        assert_eq!(monotonic_of(1, 0, 2_000_000_000), None);
        assert_eq!(monotonic_of(3, 5, 2_000_000_000), Some(1_000_000_005));
    }
}
