//! Test-only: the published contract of a `capture --json` line (schema/capture-record.v1.json, the
//! file the npm package ships) checked from Rust, so that a decoder test fails on a record the schema
//! refuses — a renamed, new or retyped key — before any JS test runs.

use std::sync::OnceLock;

/// The schema, compiled in: the tests see exactly the file in the tree.
const SCHEMA: &str = include_str!("../../../schema/capture-record.v1.json");

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: serde_json::Value = match serde_json::from_str(SCHEMA) {
            Ok(schema) => schema,
            Err(e) => panic!("schema/capture-record.v1.json is not JSON: {e}"),
        };
        match jsonschema::draft202012::new(&schema) {
            Ok(validator) => validator,
            Err(e) => panic!("schema/capture-record.v1.json is not a valid 2020-12 schema: {e}"),
        }
    })
}

/// Panics with the record and every complaint unless `record` is a line the schema allows.
pub fn assert_valid(record: &serde_json::Value) {
    assert_valid_in(record, "a record");
}

/// `assert_valid`, saying where the record came from (`what`: the input that made it).
pub fn assert_valid_in(record: &serde_json::Value, what: &str) {
    let errors: Vec<String> = validator()
        .iter_errors(record)
        .map(|e| format!("  {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: record does not match schema/capture-record.v1.json:\n{record}\n{}",
        errors.join("\n")
    );
}

/// `assert_valid` of a record as the decoder serializes it.
pub fn assert_valid_record(record: &super::decode::Record) {
    match serde_json::to_value(record) {
        Ok(value) => assert_valid(&value),
        Err(e) => panic!("record does not serialize: {e}: {record:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::decode::{decode_packet, GenlNames, Options, PacketMeta};
    use crate::capture::pcapread::Reader;

    /// Every record of the fixtures (route, generic with learnt names, extended ACKs, connector, a
    /// sid guest's real traffic with its spec-driven trees), decoded as `capture -r --json --hex` does.
    #[test]
    fn fixture_records_match_the_schema() {
        let dir = format!("{}/../test/fixtures/netlink", env!("CARGO_MANIFEST_DIR"));
        let mut total = 0;
        for name in [
            "rtnetlink.pcap",
            "genl-names.pcap",
            "extack-warnings.pcap",
            "connector.pcap",
            "guest-traffic.pcap",
        ] {
            let path = format!("{dir}/{name}");
            let mut reader = match Reader::open(&path) {
                Ok(r) => r,
                Err(e) => panic!("{path}: {e:?}"),
            };
            let mut genl = GenlNames::offline();
            // A file in the other byte order holds that host's netlink (as session.rs reads it).
            let big_endian = reader.foreign_order != cfg!(target_endian = "big");
            let mut index = 0;
            while let Some(packet) = reader.next_packet() {
                let packet = match packet {
                    Ok(p) => p,
                    Err(e) => panic!("{path}: {e:?}"),
                };
                index += 1;
                let meta = PacketMeta {
                    index,
                    sec: packet.sec,
                    nsec: packet.nsec,
                    pkttype: packet.pkttype,
                    family: packet.family,
                    truncated: packet.truncated,
                    big_endian,
                };
                let mut out = Vec::new();
                decode_packet(
                    &meta,
                    &packet.data,
                    &mut genl,
                    Options {
                        hex: true,
                        tree: true,
                    },
                    &mut out,
                );
                out.iter().for_each(assert_valid_record);
                total += out.len();
            }
        }
        assert!(total > 60, "only {total} records in the fixtures");
    }

    /// The check can fail: a renamed key, a new key and a retyped value are refused.
    #[test]
    fn refuses_what_a_script_could_not_rely_on() {
        let good = serde_json::json!({
            "time": "2023-11-14T22:13:20.000000005Z", "packet": 1, "dir": "to-kernel",
            "family": "route", "family_id": 0, "type": "RTM_NEWLINK", "type_id": 16,
            "flags": ["REQUEST"], "flags_raw": 1, "seq": 1, "port": 0, "len": 32
        });
        assert_valid(&good);
        let mut bad = Vec::new();
        let mut renamed = good.clone();
        if let Some(o) = renamed.as_object_mut() {
            o.remove("flags_raw");
            o.insert("flagsRaw".into(), 1.into());
        }
        bad.push(renamed);
        let mut added = good.clone();
        added["schema_version"] = 1.into();
        bad.push(added);
        let mut retyped = good.clone();
        retyped["seq"] = "1".into();
        bad.push(retyped);
        for record in bad {
            assert!(!validator().is_valid(&record), "{record}");
        }
    }
}
