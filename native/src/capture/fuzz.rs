//! The decoder fuzzed for a bounded time (`cargo test`): packets of the fixture captures (real
//! guest traffic among them) truncated, bit-flipped and spliced together. Nothing may panic (the
//! decoder's own catch would turn a panic into a "decoder panic" record: that fails too), and
//! every record must serialize to JSON.

use std::time::{Duration, Instant};

use super::decode::{decode_packet, GenlNames, Options, PacketMeta, Record};
use super::pcapread::Reader;
use crate::netlink::consts::{NETLINK_SOCK_DIAG, NLM_F_MULTI, NLM_F_REQUEST};
use netlink_packet_core::NLM_F_DUMP;

/// How long the mutation loop runs (a bound, not a speed target: the count is printed).
const BUDGET: Duration = Duration::from_secs(3);

/// xorshift64*: deterministic, so a failure names a reproducible iteration.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<(u16, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../test/fixtures/netlink");
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    names.sort();
    for path in names {
        let path = path.to_string_lossy().into_owned();
        let mut reader = Reader::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        while let Some(Ok(packet)) = reader.next_packet() {
            out.push((packet.family, packet.data));
        }
    }
    // The fixtures hold sock_diag requests only (the guest's kernel refused them): answers too.
    for (request, payload) in super::sockdiag::tests::fuzz_seeds() {
        let flags = if request {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_MULTI
        };
        let mut packet = Vec::new();
        packet.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        packet.extend_from_slice(&20u16.to_ne_bytes()); // SOCK_DIAG_BY_FAMILY
        packet.extend_from_slice(&flags.to_ne_bytes());
        packet.extend_from_slice(&[0; 8]);
        packet.extend_from_slice(&payload);
        out.push((NETLINK_SOCK_DIAG, packet));
    }
    assert!(out.len() > 100, "too few seed packets: {}", out.len());
    out
}

fn check(meta: &PacketMeta, bytes: &[u8], genl: &mut GenlNames, what: &str) -> Vec<Record> {
    let mut out = Vec::new();
    decode_packet(
        meta,
        bytes,
        genl,
        Options {
            hex: true,
            tree: true,
        },
        &mut out,
    );
    for r in &out {
        if let Some(m) = &r.malformed {
            assert!(!m.starts_with("decoder panic"), "{what}: {m}");
        }
        let json = serde_json::to_value(r).unwrap_or_else(|e| panic!("{what}: {e}"));
        super::schema_check(&json, what);
    }
    out
}

#[test]
fn decoder_survives_truncations_bit_flips_and_splices() {
    let seeds = seeds();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut genl = GenlNames::offline();
    let started = Instant::now();
    let mut runs = 0u64;
    // Every seed whole, then every truncation of the first few, then random mutations.
    for (i, (family, data)) in seeds.iter().enumerate() {
        let meta = PacketMeta {
            index: i as u64 + 1, // packet numbers are 1-based (tshark's frame.number)
            family: *family,
            ..PacketMeta::default()
        };
        check(&meta, data, &mut genl, &format!("seed {i}"));
        if i < 20 {
            for cut in 0..data.len() {
                check(
                    &meta,
                    &data[..cut],
                    &mut genl,
                    &format!("seed {i} cut at {cut}"),
                );
            }
        }
    }
    while started.elapsed() < BUDGET {
        let (family, a) = &seeds[rng.below(seeds.len())];
        let mut bytes = a.clone();
        let what = match rng.below(3) {
            0 => {
                let cut = rng.below(bytes.len() + 1);
                bytes.truncate(cut);
                format!("run {runs}: truncated to {cut}")
            }
            1 => {
                for _ in 0..=rng.below(8) {
                    let at = rng.below(bytes.len());
                    if let Some(b) = bytes.get_mut(at) {
                        *b ^= 1 << rng.below(8);
                    }
                }
                format!("run {runs}: bits flipped")
            }
            _ => {
                let (_, b) = &seeds[rng.below(seeds.len())];
                let at = rng.below(bytes.len() + 1);
                let from = rng.below(b.len() + 1);
                bytes.truncate(at);
                bytes.extend_from_slice(&b[from..]);
                format!("run {runs}: spliced at {at} with another from {from}")
            }
        };
        let meta = PacketMeta {
            index: runs + 1,
            family: *family,
            truncated: rng.below(4) == 0,
            ..PacketMeta::default()
        };
        check(&meta, &bytes, &mut genl, &what);
        runs += 1;
    }
    eprintln!(
        "decoder fuzz: {} seeds, {runs} mutated packets in {:?}",
        seeds.len(),
        BUDGET
    );
    assert!(runs > 100, "only {runs} mutations ran");
}
