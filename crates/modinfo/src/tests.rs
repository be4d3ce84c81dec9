use super::*;
use object::write::{Object as WriteObject, StandardSection};
use object::{Architecture, BinaryFormat, Endianness, SectionKind};

/// A relocatable ELF like a `.ko`, with the given `.modinfo` bytes.
fn ko_with_modinfo(modinfo: Option<&[u8]>) -> Vec<u8> {
    let mut obj = WriteObject::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0xc3], 1);
    if let Some(bytes) = modinfo {
        let id = obj.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::ReadOnlyData);
        obj.append_section_data(id, bytes, 1);
    }
    obj.write().unwrap()
}

const MODINFO: &[u8] = b"license=GPL\0\0\0author=mempoolctl developers\0parm=min_nr:Elements kept in reserve\0parmtype=min_nr:uint\0parm=object_size:Object size\0name=rust_mempool\0vermagic=7.3.4 SMP mod_unload \0";

#[test]
fn reads_fields_in_order_with_repeats() {
    let data = ko_with_modinfo(Some(MODINFO));
    let info = parse(Path::new("x.ko"), &data).unwrap();
    assert_eq!(info.get("name"), Some("rust_mempool"));
    assert_eq!(info.get("license"), Some("GPL"));
    assert_eq!(
        info.all("parm").collect::<Vec<_>>(),
        ["min_nr:Elements kept in reserve", "object_size:Object size"]
    );
    assert_eq!(info.get("vermagic"), Some("7.3.4 SMP mod_unload "));
    assert_eq!(info.built_for_release(), Some("7.3.4"));
    assert!(!info.signed);
    let text = info.render();
    assert!(
        text.starts_with("filename:       x.ko\nlicense:        GPL\n"),
        "{text}"
    );
    assert!(text.ends_with("signed:         no\n"), "{text}");
}

#[test]
fn detects_an_appended_signature() {
    let mut data = ko_with_modinfo(Some(MODINFO));
    data.extend_from_slice(b"\x30\x82fake-pkcs7\0\0\0\0\0\0\0\0\0\0\0\x0a");
    data.extend_from_slice(SIGNATURE_MAGIC);
    assert!(parse(Path::new("x.ko"), &data).unwrap().signed);
}

#[test]
fn refuses_non_modules_with_the_reason() {
    let err = parse(Path::new("notes.txt"), b"hello")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("notes.txt is not an ELF object ("), "{err}");
    let data = ko_with_modinfo(None);
    let err = parse(Path::new("plain.o"), &data).unwrap_err().to_string();
    assert_eq!(
        err,
        "plain.o has no .modinfo section: not a kernel module (was it built by kbuild?)"
    );
    let err = read(Path::new("/nonexistent/x.ko"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cannot read /nonexistent/x.ko: "), "{err}");
}

#[test]
fn field_parser_skips_junk() {
    let fields = parse_fields(b"\0\0noequals\0k=v=w\0\xff\xfe=bad\0=empty\0");
    assert_eq!(
        fields,
        vec![("k".into(), "v=w".into()), ("".into(), "empty".into())]
    );
    assert!(parse_fields(b"").is_empty());
}

#[test]
fn reads_the_built_module_when_present() {
    // The real thing, when a previous step built it (cargo xtask test does).
    let ko = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../module/rust_mempool.ko");
    let Ok(info) = read(&ko) else { return };
    assert_eq!(info.get("name"), Some("rust_mempool"));
    assert_eq!(info.get("license"), Some("GPL"));
    assert!(info.all("parm").any(|p| p.starts_with("min_nr:")));
    assert!(info.built_for_release().is_some());
}
