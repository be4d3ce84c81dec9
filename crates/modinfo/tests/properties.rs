//! Property tests for `.modinfo` parsing: `parse_fields` and `parse` on ELF images.

use modinfo::{parse, parse_fields};
use object::write::{Object as WriteObject, StandardSection};
use object::{Architecture, BinaryFormat, Endianness, SectionKind};
use proptest::prelude::*;
use std::path::Path;

fn config() -> ProptestConfig {
    ProptestConfig {
        // 256 cases unless PROPTEST_CASES says otherwise.
        // No `proptest-regressions/` files in the crate: failures are reported, not stored.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Keys as the rules allow them: no '=' and no NUL (possibly empty); not
/// `parm`/`parmtype`, which `render` folds into one line per parameter (unit
/// tests cover those).
fn key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_]{1,10}", "[^=\u{0}]{0,8}"]
        .prop_filter("parameters are folded", |k| k != "parm" && k != "parmtype")
}

/// Values: anything but NUL ('=' included).
fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,20}", "[^\u{0}]{0,12}"]
}

/// Segments the parser must skip: no '=' (and non-empty), or invalid UTF-8.
fn junk_segment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[^=\u{0}]{1,10}".prop_map(String::into_bytes),
        // A lone continuation byte makes any segment invalid UTF-8.
        ("[^\u{0}]{0,6}", "[^\u{0}]{0,6}").prop_map(|(a, b)| {
            let mut s = a.into_bytes();
            s.push(0x80);
            s.extend(b.into_bytes());
            s
        }),
    ]
}

/// A `.modinfo` section: each field NUL-terminated, then 0..3 NULs of padding,
/// with junk segments interleaved.
fn section(fields: &[(String, String)], junk: &[Option<Vec<u8>>], pads: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if let Some(Some(j)) = junk.get(i) {
            out.extend(j);
            out.push(0);
        }
        out.extend(format!("{k}={v}").into_bytes());
        out.push(0);
        out.extend(std::iter::repeat_n(0, pads.get(i).copied().unwrap_or(0)));
    }
    out
}

/// A relocatable x86-64 ELF like a `.ko`, with the given `.modinfo` bytes.
fn ko_with_modinfo(modinfo: &[u8]) -> Vec<u8> {
    let mut obj = WriteObject::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0xc3], 1);
    let id = obj.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::ReadOnlyData);
    obj.append_section_data(id, modinfo, 1);
    obj.write().unwrap()
}

const SIGNATURE_MAGIC: &[u8] = b"~Module signature appended~\n";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fields_come_from_nul_separated_key_value_segments(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            // Mostly text, with the two separators that matter.
            proptest::collection::vec(
                prop_oneof![Just(0u8), Just(b'='), b'a'..=b'c', Just(0xc3), Just(0xa9)],
                0..64,
            ),
        ]
    ) {
        let fields = parse_fields(&bytes);
        let segments: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
        let candidates = segments
            .iter()
            .filter(|s| s.contains(&b'=') && std::str::from_utf8(s).is_ok())
            .count();
        prop_assert_eq!(fields.len(), candidates);
        let mut rest = segments.iter();
        for (k, v) in &fields {
            prop_assert!(!k.contains('=') && !k.contains('\0'));
            prop_assert!(!v.contains('\0'));
            let whole = format!("{k}={v}");
            // In order: each field is a later segment than the previous one.
            prop_assert!(rest.any(|s| *s == whole.as_bytes()), "{:?} is no segment", whole);
        }
    }

    #[test]
    fn key_value_lists_round_trip(
        fields in proptest::collection::vec((key(), value()), 0..10),
        junk in proptest::collection::vec(proptest::option::weighted(0.3, junk_segment()), 10),
        pads in proptest::collection::vec(0usize..3, 10),
        leading_nuls in 0usize..3,
    ) {
        let mut bytes = vec![0; leading_nuls];
        bytes.extend(section(&fields, &junk, &pads));
        prop_assert_eq!(parse_fields(&bytes), fields);
    }

    #[test]
    fn missing_final_nul_keeps_the_last_field(fields in proptest::collection::vec((key(), value()), 1..6)) {
        let mut bytes = section(&fields, &[], &[]);
        bytes.pop();
        prop_assert_eq!(parse_fields(&bytes), fields);
    }

    #[test]
    fn ko_images_round_trip(
        fields in proptest::collection::vec((key(), value()), 0..8),
        appended in any::<bool>(),
        signature in proptest::collection::vec(any::<u8>(), 0..32),
        // Bytes after the magic: then it is no signature trailer.
        after in proptest::collection::vec(any::<u8>(), 0..3),
    ) {
        let mut data = ko_with_modinfo(&section(&fields, &[], &[]));
        if appended {
            data.extend(&signature);
            data.extend(SIGNATURE_MAGIC);
            data.extend(&after);
        }
        let signed = appended && after.is_empty();
        let info = parse(Path::new("m.ko"), &data).unwrap();
        prop_assert_eq!(&info.fields, &fields);
        prop_assert_eq!(info.signed, signed);
        prop_assert_eq!(info.filename.as_path(), Path::new("m.ko"));
        // `get` is the first value of a key, `all` every value in order.
        for (k, _) in &fields {
            let values: Vec<&str> = fields.iter().filter(|(k2, _)| k2 == k).map(|(_, v)| v.as_str()).collect();
            prop_assert_eq!(info.get(k), values.first().copied());
            prop_assert_eq!(info.all(k).collect::<Vec<_>>(), values);
        }
        let rendered = info.render();
        // One line per field plus `filename` and `signed`.
        let embedded: usize = fields.iter().map(|(k, v)| k.matches('\n').count() + v.matches('\n').count()).sum();
        prop_assert_eq!(rendered.matches('\n').count(), fields.len() + 2 + embedded);
        let last = if signed { "signed:         yes\n" } else { "signed:         no\n" };
        prop_assert!(rendered.ends_with(last), "{}", rendered);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_or_damaged_images(
        fields in proptest::collection::vec((key(), value()), 0..4),
        cut in any::<proptest::sample::Index>(),
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..8),
        random in proptest::collection::vec(any::<u8>(), 0..256),
        use_random in any::<bool>(),
    ) {
        let data = if use_random {
            random
        } else {
            let mut d = ko_with_modinfo(&section(&fields, &[], &[]));
            for (at, byte) in flips {
                let i = at.index(d.len());
                d[i] = byte;
            }
            d.truncate(cut.index(d.len() + 1));
            d
        };
        if let Ok(info) = parse(Path::new("x.ko"), &data) {
            prop_assert_eq!(info.signed, data.ends_with(SIGNATURE_MAGIC));
        }
    }
}
