//! Extended-ACK TLVs of NLMSG_ERROR / NLMSG_DONE, which netlink-packet-core does not parse.
//!
//! Layout of an NLMSG_ERROR payload (include/uapi/linux/netlink.h, `struct nlmsgerr`):
//! `int error; struct nlmsghdr msg;` then, unless the error message's header carries
//! `NLM_F_CAPPED`, the rest of the original request (`msg.nlmsg_len` bytes in all); then,
//! when the header carries `NLM_F_ACK_TLVS`, attributes of `enum nlmsgerr_attrs`.
//! NLMSG_DONE carries `int error;` directly followed by the TLVs.
//!
//! Everything here is bounds-checked: garbage yields "no extack", never a panic.

/// `NLMSGERR_ATTR_MSG`: NUL-terminated error text.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLMSGERR_ATTR_OFFS`: u32 offset of the offending attribute in the original request.
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
/// `NLMSGERR_ATTR_COOKIE`: arbitrary bytes for the caller.
pub const NLMSGERR_ATTR_COOKIE: u16 = 3;
/// `NLMSGERR_ATTR_POLICY`: nested `NL_POLICY_TYPE_ATTR_*` of the policy that was broken.
pub const NLMSGERR_ATTR_POLICY: u16 = 4;
/// `NLMSGERR_ATTR_MISS_TYPE`: u32 type of a missing required attribute.
pub const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
/// `NLMSGERR_ATTR_MISS_NEST`: u32 offset of the nest the attribute is missing from.
pub const NLMSGERR_ATTR_MISS_NEST: u16 = 6;

/// `enum netlink_policy_type_attr` (NL_POLICY_TYPE_ATTR_*), 1-based: none is in libc.
const POLICY_ATTRS: [&str; 12] = [
    "type",
    "min_value_s",
    "max_value_s",
    "min_value_u",
    "max_value_u",
    "min_length",
    "max_length",
    "policy_idx",
    "policy_maxtype",
    "bitfield32_mask",
    "pad",
    "mask",
];
/// `enum netlink_attribute_type` (NL_ATTR_TYPE_*), from 0.
const ATTR_TYPES: [&str; 18] = [
    "invalid",
    "flag",
    "u8",
    "u16",
    "u32",
    "u64",
    "s8",
    "s16",
    "s32",
    "s64",
    "binary",
    "string",
    "nul-string",
    "nested",
    "nested-array",
    "bitfield32",
    "sint",
    "uint",
];

use super::consts::{NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN, NLM_F_ACK_TLVS, NLM_F_CAPPED};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExtAck {
    pub msg: Option<String>,
    pub offset: Option<u32>,
    pub cookie: Option<Vec<u8>>,
    /// The broken policy, as (NL_POLICY_TYPE_ATTR_* name, value); `type` is named.
    pub policy: Option<Vec<(String, PolicyValue)>>,
    pub miss_type: Option<u32>,
    pub miss_nest: Option<u32>,
}

/// A value of a policy attribute: numbers, or the attribute type's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyValue {
    Number(i128),
    Name(String),
}

fn policy(nested: &[u8]) -> Vec<(String, PolicyValue)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while let (Some(len), Some(kind)) = (read_u16(nested, pos), read_u16(nested, pos + 2)) {
        let len = usize::from(len);
        let Some(value) = nested
            .get(pos + NLA_HDRLEN..pos + len)
            .filter(|_| len >= NLA_HDRLEN)
        else {
            break;
        };
        let kind = kind & NLA_TYPE_MASK;
        let name = POLICY_ATTRS
            .get(usize::from(kind).wrapping_sub(1))
            .map_or_else(|| format!("attr_{kind}"), |n| (*n).to_string());
        let signed = name.ends_with("_s");
        let number = match value.len() {
            1 => Some(i128::from(value[0])),
            2 => read_u16(value, 0).map(i128::from),
            4 => read_u32(value, 0).map(|v| {
                if signed {
                    i128::from(v as i32)
                } else {
                    i128::from(v)
                }
            }),
            8 => value.try_into().ok().map(|b: [u8; 8]| {
                let v = u64::from_ne_bytes(b);
                if signed {
                    i128::from(v as i64)
                } else {
                    i128::from(v)
                }
            }),
            _ => None,
        };
        if let Some(n) = number {
            let v = if kind == 1 {
                ATTR_TYPES
                    .get(n as usize)
                    .map_or(PolicyValue::Number(n), |t| PolicyValue::Name((*t).into()))
            } else {
                PolicyValue::Number(n)
            };
            out.push((name, v));
        }
        pos += align4(len);
    }
    out
}

fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Host-order u16 at `at`, if the bytes are there (shared with the capture decoder).
pub(crate) fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let raw = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([raw[0], raw[1]]))
}

/// Host-order u32 at `at`, if the bytes are there.
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]))
}

/// Parse the TLVs of `enum nlmsgerr_attrs` from `tlvs`. Stops at the first malformed one.
pub fn parse_tlvs(tlvs: &[u8]) -> ExtAck {
    let mut ack = ExtAck::default();
    let mut pos = 0usize;
    while let (Some(len), Some(kind)) = (read_u16(tlvs, pos), read_u16(tlvs, pos + 2)) {
        let len = usize::from(len);
        if len < NLA_HDRLEN {
            break;
        }
        let Some(value) = tlvs.get(pos + NLA_HDRLEN..pos + len) else {
            break;
        };
        match kind & NLA_TYPE_MASK {
            NLMSGERR_ATTR_MSG => {
                let text = value.split(|b| *b == 0).next().unwrap_or(&[]);
                let text = String::from_utf8_lossy(text).trim_end().to_string();
                if !text.is_empty() {
                    ack.msg = Some(text);
                }
            }
            NLMSGERR_ATTR_OFFS => ack.offset = read_u32(value, 0),
            NLMSGERR_ATTR_COOKIE => ack.cookie = Some(value.to_vec()),
            NLMSGERR_ATTR_POLICY => ack.policy = Some(policy(value)),
            NLMSGERR_ATTR_MISS_TYPE => ack.miss_type = read_u32(value, 0),
            NLMSGERR_ATTR_MISS_NEST => ack.miss_nest = read_u32(value, 0),
            _ => {}
        }
        pos += align4(len);
    }
    ack
}

/// Parse the extended ACK of an NLMSG_ERROR message.
///
/// `flags` are the NLMSG_ERROR message's own `nlmsg_flags`; `after_code` is its payload after
/// the `int error` (netlink-packet-core's `ErrorMessage::header`).
pub fn parse_error(flags: u16, after_code: &[u8]) -> ExtAck {
    if flags & NLM_F_ACK_TLVS == 0 {
        return ExtAck::default();
    }
    let echoed = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        match read_u32(after_code, 0) {
            Some(len) if (len as usize) >= NLMSG_HDRLEN => align4(len as usize),
            _ => return ExtAck::default(),
        }
    };
    match after_code.get(echoed..) {
        Some(tlvs) => parse_tlvs(tlvs),
        None => ExtAck::default(),
    }
}

/// Parse the extended ACK of an NLMSG_DONE message (`extended_ack` = bytes after the code).
pub fn parse_done(flags: u16, extended_ack: &[u8]) -> ExtAck {
    if flags & NLM_F_ACK_TLVS == 0 {
        return ExtAck::default();
    }
    parse_tlvs(extended_ack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::testing::tlv;

    /// An echoed request header (+ payload of `extra` bytes).
    fn echoed(extra: usize) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((16 + extra) as u32).to_ne_bytes());
        out.extend_from_slice(&16u16.to_ne_bytes()); // RTM_NEWLINK
        out.extend_from_slice(&0x605u16.to_ne_bytes());
        out.extend_from_slice(&7u32.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.resize(16 + extra, 0xaa);
        out
    }

    #[test]
    fn well_formed_message() {
        let mut payload = echoed(34); // unaligned length: TLVs start at align4(50) = 52
        while !payload.len().is_multiple_of(4) {
            payload.push(0);
        }
        payload.extend(tlv(NLMSGERR_ATTR_MSG, b"Unknown device type\0"));
        let ack = parse_error(NLM_F_ACK_TLVS, &payload);
        assert_eq!(ack.msg.as_deref(), Some("Unknown device type"));
        assert_eq!(ack.offset, None);
    }

    #[test]
    fn capped_with_offset() {
        let mut payload = echoed(0);
        payload.extend(tlv(NLMSGERR_ATTR_MSG, b"mtu less than device minimum.\0"));
        payload.extend(tlv(NLMSGERR_ATTR_OFFS, &40u32.to_ne_bytes()));
        payload.extend(tlv(99, b"ignored"));
        let ack = parse_error(NLM_F_ACK_TLVS | NLM_F_CAPPED, &payload);
        assert_eq!(ack.msg.as_deref(), Some("mtu less than device minimum."));
        assert_eq!(ack.offset, Some(40));
    }

    #[test]
    fn capped_flag_ignores_echoed_length() {
        // A capped error echoes only the header, whatever its nlmsg_len says.
        let mut payload = echoed(0);
        payload[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        payload.extend(tlv(NLMSGERR_ATTR_OFFS, &20u32.to_ne_bytes()));
        assert_eq!(
            parse_error(NLM_F_ACK_TLVS | NLM_F_CAPPED, &payload).offset,
            Some(20)
        );
    }

    #[test]
    fn no_tlvs_flag_means_no_extack() {
        let mut payload = echoed(0);
        payload.extend(tlv(NLMSGERR_ATTR_MSG, b"hidden\0"));
        assert_eq!(parse_error(0, &payload), ExtAck::default());
    }

    #[test]
    fn cookie_policy_missing_attribute() {
        let mut nested = tlv(1, &4u32.to_ne_bytes()); // type: u32
        nested.extend(tlv(4, &1u64.to_ne_bytes())); // min_value_u
        nested.extend(tlv(5, &9000u64.to_ne_bytes())); // max_value_u
        nested.extend(tlv(2, &(-5i64).to_ne_bytes())); // min_value_s
        let mut payload = echoed(0);
        payload.extend(tlv(NLMSGERR_ATTR_COOKIE, &[0xde, 0xad, 0xbe, 0xef]));
        payload.extend(tlv(NLMSGERR_ATTR_POLICY | 0x8000, &nested));
        payload.extend(tlv(NLMSGERR_ATTR_MISS_TYPE, &3u32.to_ne_bytes()));
        payload.extend(tlv(NLMSGERR_ATTR_MISS_NEST, &32u32.to_ne_bytes()));
        let ack = parse_error(NLM_F_ACK_TLVS | NLM_F_CAPPED, &payload);
        assert_eq!(ack.cookie, Some(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!((ack.miss_type, ack.miss_nest), (Some(3), Some(32)));
        assert_eq!(
            ack.policy,
            Some(vec![
                ("type".into(), PolicyValue::Name("u32".into())),
                ("min_value_u".into(), PolicyValue::Number(1)),
                ("max_value_u".into(), PolicyValue::Number(9000)),
                ("min_value_s".into(), PolicyValue::Number(-5)),
            ])
        );
        // garbage inside the nest stops the nest, not the parse
        let mut bad = echoed(0);
        bad.extend(tlv(NLMSGERR_ATTR_POLICY, &[200, 0, 1, 0]));
        bad.extend(tlv(NLMSGERR_ATTR_MISS_TYPE, &7u32.to_ne_bytes()));
        let ack = parse_error(NLM_F_ACK_TLVS | NLM_F_CAPPED, &bad);
        assert_eq!((ack.policy, ack.miss_type), (Some(vec![]), Some(7)));
    }

    #[test]
    fn nested_and_byteorder_bits_are_masked() {
        let ack = parse_tlvs(&tlv(NLMSGERR_ATTR_MSG | 0x8000, b"x\0"));
        assert_eq!(ack.msg.as_deref(), Some("x"));
    }

    #[test]
    fn done_tlvs() {
        let ack = parse_done(NLM_F_ACK_TLVS, &tlv(NLMSGERR_ATTR_MSG, b"dump failed\0"));
        assert_eq!(ack.msg.as_deref(), Some("dump failed"));
        assert_eq!(
            parse_done(0, &tlv(NLMSGERR_ATTR_MSG, b"x\0")),
            ExtAck::default()
        );
    }

    #[test]
    fn truncated_and_garbage_do_not_panic() {
        let good = {
            let mut p = echoed(4);
            p.extend(tlv(NLMSGERR_ATTR_MSG, b"text\0"));
            p.extend(tlv(NLMSGERR_ATTR_OFFS, &8u32.to_ne_bytes()));
            p
        };
        // Every truncation of a valid payload.
        for cut in 0..good.len() {
            let _ = parse_error(NLM_F_ACK_TLVS, &good[..cut]);
            let _ = parse_error(NLM_F_ACK_TLVS | NLM_F_CAPPED, &good[..cut]);
            let _ = parse_tlvs(&good[..cut]);
        }
        // Echoed length larger than the payload, and smaller than a header.
        let mut huge = echoed(0);
        huge[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(parse_error(NLM_F_ACK_TLVS, &huge), ExtAck::default());
        let mut tiny = echoed(0);
        tiny[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert_eq!(parse_error(NLM_F_ACK_TLVS, &tiny), ExtAck::default());
        // TLV lengths: 0, below header size, beyond the buffer, odd.
        assert_eq!(parse_tlvs(&[0, 0, 1, 0]), ExtAck::default());
        assert_eq!(parse_tlvs(&[2, 0, 1, 0, b'a']), ExtAck::default());
        assert_eq!(parse_tlvs(&[200, 0, 1, 0, b'a', 0]), ExtAck::default());
        assert_eq!(parse_tlvs(&[5, 0, 1, 0, b'a']).msg.as_deref(), Some("a"));
        // Offset attribute too short, message without NUL, invalid UTF-8.
        assert_eq!(parse_tlvs(&tlv(NLMSGERR_ATTR_OFFS, &[1, 2])).offset, None);
        assert_eq!(
            parse_tlvs(&tlv(NLMSGERR_ATTR_MSG, b"abc")).msg.as_deref(),
            Some("abc")
        );
        assert!(parse_tlvs(&tlv(NLMSGERR_ATTR_MSG, &[0xff, 0xfe, 0]))
            .msg
            .is_some());
        // Deterministic pseudo-random garbage.
        let mut state = 0x1234_5678u32;
        for round in 0..2000 {
            let len = (round % 97) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state & 0xff) as u8
                })
                .collect();
            let _ = parse_error(NLM_F_ACK_TLVS, &bytes);
            let _ = parse_error(NLM_F_ACK_TLVS | NLM_F_CAPPED, &bytes);
            let _ = parse_done(NLM_F_ACK_TLVS, &bytes);
        }
    }
}
