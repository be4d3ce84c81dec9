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

/// kmod's modinfo prints a parameter as `name:description (type)`, after the
/// other fields; `parmtype` has no line of its own (kmod's tools/modinfo.c).
/// The expected text is written by hand.
#[test]
fn parameters_render_as_kmod_shows_them() {
    let data = ko_with_modinfo(Some(MODINFO));
    let info = parse(Path::new("/m/x.ko"), &data).unwrap();
    assert_eq!(
        info.render(),
        "filename:       /m/x.ko\n\
         license:        GPL\n\
         author:         mempoolctl developers\n\
         name:           rust_mempool\n\
         vermagic:       7.3.4 SMP mod_unload \n\
         parm:           min_nr:Elements kept in reserve (uint)\n\
         parm:           object_size:Object size\n\
         signed:         no\n"
    );
}

#[test]
fn json_report_is_an_object_indexed_by_key() {
    let data = ko_with_modinfo(Some(MODINFO));
    let info = parse(Path::new("/m/x.ko"), &data).unwrap();
    let json: serde_json::Value = serde_json::to_value(info.report()).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["filename"], "/m/x.ko");
    assert_eq!(json["name"], "rust_mempool");
    assert_eq!(json["release"], "7.3.4");
    assert_eq!(json["signed"], false);
    assert_eq!(json["fields"]["license"][0], "GPL");
    assert_eq!(json["parameters"]["min_nr"]["type"], "uint");
    assert_eq!(
        json["parameters"]["min_nr"]["description"],
        "Elements kept in reserve"
    );
    assert!(json["parameters"]["object_size"]["type"].is_null());
}

#[test]
fn read_gives_an_absolute_filename() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.ko"), ko_with_modinfo(Some(MODINFO))).unwrap();
    let cwd = std::env::current_dir().unwrap();
    let rel = pathdiff(dir.path(), &cwd).join("x.ko");
    let info = read(&rel).unwrap();
    assert!(info.filename.is_absolute(), "{}", info.filename.display());
    assert!(info.filename.ends_with("x.ko"));
}

/// `to` relative to `from` (both absolute).
fn pathdiff(to: &Path, from: &Path) -> PathBuf {
    let common = to
        .components()
        .zip(from.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in from.components().skip(common) {
        out.push("..");
    }
    for c in to.components().skip(common) {
        out.push(c);
    }
    out
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

/// The `.modinfo` sections of both twins as kbuild wrote them (taken out of
/// the built `.ko`s with `objcopy -O binary --only-section=.modinfo`).
#[test]
fn reads_the_sections_kbuild_wrote() {
    for (name, section, parm_type) in [
        (
            "rust_mempool",
            &include_bytes!("../fixtures/rust_mempool.modinfo")[..],
            "u32",
        ),
        (
            "c_mempool",
            &include_bytes!("../fixtures/c_mempool.modinfo")[..],
            "uint",
        ),
    ] {
        let data = ko_with_modinfo(Some(section));
        let info = parse(Path::new("/m/x.ko"), &data).unwrap();
        assert_eq!(info.get("name"), Some(name));
        assert_eq!(info.get("license"), Some("GPL"));
        assert_eq!(info.built_for_release(), Some("7.3.4"));
        let params = info.parameters();
        assert_eq!(params.keys().collect::<Vec<_>>(), ["min_nr", "object_size"]);
        assert_eq!(params["min_nr"].r#type.as_deref(), Some(parm_type));
        assert!(info.render().contains(&format!(
            "parm:           min_nr:Elements the mempool keeps in reserve (1..=4096) ({parm_type})\n"
        )));
    }
}
