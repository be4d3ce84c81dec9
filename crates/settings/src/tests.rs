use super::*;

const DOCUMENTED: &str = include_str!("../../../config/mempoolctl.toml");

fn env(pairs: &[(&str, &str)]) -> Layer {
    Layer::from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
}

fn file(text: &str) -> Layer {
    Layer::from_toml(text, Path::new("/etc/mempoolctl.toml")).unwrap()
}

#[test]
fn defaults_alone() {
    let s = resolve(&[]).unwrap();
    assert_eq!(s.integer("module.min_nr"), 6);
    assert_eq!(s.integer("module.object_size"), 10240);
    assert_eq!(s.string("module.flavor"), "rust");
    assert_eq!(s.path("module.ko"), None);
    assert_eq!(s.source("module.min_nr"), Source::Default);
}

#[test]
fn precedence_is_flag_then_env_then_file_then_default() {
    let f = file("[module]\nmin_nr = 8\nobject_size = 4096\nflavor = \"c\"\n");
    let e = env(&[
        ("MEMPOOLCTL_MIN_NR", "9"),
        ("MEMPOOLCTL_OBJECT_SIZE", "512"),
    ]);
    let flags = Layer::flags([("module.min_nr", Some(10u64)), ("module.object_size", None)]);
    let s = resolve(&[flags, e.clone(), f.clone()]).unwrap();
    assert_eq!(s.integer("module.min_nr"), 10);
    assert_eq!(s.source("module.min_nr"), Source::Flag);
    assert_eq!(s.integer("module.object_size"), 512);
    assert_eq!(
        s.source("module.object_size"),
        Source::Env("MEMPOOLCTL_OBJECT_SIZE")
    );
    assert_eq!(s.string("module.flavor"), "c");
    assert_eq!(
        s.source("module.flavor"),
        Source::File(PathBuf::from("/etc/mempoolctl.toml"))
    );
    assert_eq!(s.get("vm.timeout"), None, "unset: the scenario's own limit");
    assert_eq!(s.integer("vm.timeout_factor"), 1);
    assert_eq!(s.source("vm.timeout_factor"), Source::Default);
    assert_eq!(s.integer("vm.cpus"), 2);

    // Without the flag, the environment wins over the file.
    let s = resolve(&[e, f.clone()]).unwrap();
    assert_eq!(s.integer("module.min_nr"), 9);
    // Without both, the file wins over the default.
    let s = resolve(&[f]).unwrap();
    assert_eq!(s.integer("module.min_nr"), 8);
}

#[test]
fn user_file_overrides_system_file() {
    let system = file("[vm]\ntimeout = 100\nmemory_mb = 256\n");
    let user =
        Layer::from_toml("[vm]\ntimeout = 50\n", Path::new("/home/u/.config/x.toml")).unwrap();
    let s = resolve(&[user, system]).unwrap();
    assert_eq!(s.integer("vm.timeout"), 50);
    assert_eq!(s.integer("vm.memory_mb"), 256);
}

#[test]
fn bad_values_name_key_and_source() {
    let e = env(&[("MEMPOOLCTL_MIN_NR", "abc")]);
    let err = resolve(&[e]).unwrap_err().to_string();
    assert_eq!(
        err,
        "`module.min_nr` from $MEMPOOLCTL_MIN_NR: \"abc\" is not a non-negative integer"
    );

    let err = resolve(&[env(&[("MEMPOOLCTL_MIN_NR", "-1")])])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"-1\" is not a non-negative integer"),
        "{err}"
    );

    let err = resolve(&[file("[vm]\naccel = \"hvf\"\n")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "`vm.accel` from /etc/mempoolctl.toml: \"hvf\" is not one of auto, kvm, tcg"
    );

    let err = resolve(&[Layer::flags([("module.ko", Some(""))])])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "`module.ko` from command line: the path is empty");
}

#[test]
fn toml_types_are_checked() {
    let p = Path::new("/etc/mempoolctl.toml");
    let err = Layer::from_toml("[module]\nmin_nr = \"6\"\n", p)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "`module.min_nr` from /etc/mempoolctl.toml: expected an integer, got \"6\""
    );
    let err = Layer::from_toml("[module]\nflavor = 1\n", p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected a string, got 1"), "{err}");
}

#[test]
fn unknown_keys_and_sections_are_refused() {
    let p = Path::new("/etc/mempoolctl.toml");
    let err = Layer::from_toml("[module]\nmin_rn = 6\n", p)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("unknown setting `module.min_rn` in /etc/mempoolctl.toml; known settings: module.flavor, module.min_nr"), "{err}");
    let err = Layer::from_toml("verbose = true\n", p)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("unknown setting `verbose`"), "{err}");
    let err = Layer::from_toml("[module\n", p).unwrap_err().to_string();
    assert!(
        err.starts_with("config file /etc/mempoolctl.toml is not valid TOML"),
        "{err}"
    );
    // Where: the second definition of a key, on line 3 at its first character.
    let err = Layer::from_toml("[module]\nmin_nr = 6\nmin_nr = 7\n", p)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is not valid TOML: line 3, column 1: "),
        "{err}"
    );
}

#[test]
fn env_typos_are_refused_but_other_variables_ignored() {
    let vars = [("MEMPOOLCTL_MINNR", "6")].map(|(k, v)| (k.to_owned(), v.to_owned()));
    let err = Layer::from_env(vars).unwrap_err().to_string();
    assert!(
        err.starts_with("environment variable MEMPOOLCTL_MINNR is no mempoolctl setting (a typo?); known: MEMPOOLCTL_FLAVOR, MEMPOOLCTL_MIN_NR"),
        "{err}"
    );
    let vars = [
        ("MEMPOOLCTL_ROOT", "/tmp"),
        ("HOME", "/root"),
        ("MEMPOOLCTL_CONFIG", "x"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let layer = Layer::from_env(vars).unwrap();
    assert!(layer.values.is_empty());
}

#[test]
fn config_file_search() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc/mempoolctl.toml");
    let xdg = dir.path().join("xdg");
    let home = dir.path().join("home");
    assert!(config_files(None, &etc, Some(&xdg), Some(&home)).is_empty());

    std::fs::create_dir_all(etc.parent().unwrap()).unwrap();
    std::fs::write(&etc, "").unwrap();
    let home_file = home.join(".config/mempoolctl/config.toml");
    std::fs::create_dir_all(home_file.parent().unwrap()).unwrap();
    std::fs::write(&home_file, "").unwrap();
    // XDG_CONFIG_HOME unset: ~/.config; system file first (lowest precedence).
    assert_eq!(
        config_files(None, &etc, None, Some(&home)),
        vec![etc.clone(), home_file]
    );
    // XDG_CONFIG_HOME set but without a file: only the system file.
    assert_eq!(
        config_files(None, &etc, Some(&xdg), Some(&home)),
        vec![etc.clone()]
    );
    // --config replaces the search, even when the file is missing (reading it then fails).
    let explicit = dir.path().join("missing.toml");
    assert_eq!(
        config_files(Some(&explicit), &etc, None, None),
        vec![explicit.clone()]
    );
    let err = Layer::from_file(&explicit).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("cannot read config file {}", explicit.display())),
        "{err}"
    );
}

#[test]
fn documented_file_lists_every_key_with_its_default() {
    let layer = Layer::from_toml(DOCUMENTED, Path::new("config/mempoolctl.toml")).unwrap();
    for key in KEYS {
        let (section, name) = key.name.split_once('.').unwrap();
        assert!(
            DOCUMENTED.contains(&format!("[{section}]")),
            "{section} missing"
        );
        assert!(DOCUMENTED.contains(key.env), "{} not documented", key.env);
        match key.default {
            // Keys with a default are set to it in the file ...
            Some(d) => assert_eq!(
                layer.values.get(key.name).map(String::as_str),
                Some(d),
                "{} in config/mempoolctl.toml differs from the default",
                key.name
            ),
            // ... the others are shown commented out, with what unset means.
            None => {
                assert!(!layer.values.contains_key(key.name), "{} is set", key.name);
                assert!(
                    DOCUMENTED.contains(&format!("# {name} = ")),
                    "{} missing",
                    key.name
                );
            }
        }
    }
}

#[test]
fn render_shows_values_and_sources() {
    let s = resolve(&[env(&[("MEMPOOLCTL_VM_ACCEL", "tcg")])]).unwrap();
    let text = s.render();
    assert!(
        text.contains("vm.accel = \"tcg\"  # $MEMPOOLCTL_VM_ACCEL\n"),
        "{text}"
    );
    assert!(text.contains("module.min_nr = 6  # default\n"), "{text}");
    assert!(
        text.contains("# build.kdir unset (/lib/modules/$(uname -r)/build)\n"),
        "{text}"
    );
}

#[test]
fn non_utf8_environment_is_ignored_or_named() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let bad = || OsString::from_vec(vec![0xff, 0xfe]);
    // Another program's variable with any bytes, even in its name: ignored.
    let layer = Layer::from_os_env([
        (OsString::from("LANG_X"), bad()),
        (bad(), OsString::from("1")),
        (OsString::from("MEMPOOLCTL_MIN_NR"), OsString::from("7")),
    ])
    .unwrap();
    assert_eq!(resolve(&[layer]).unwrap().integer("module.min_nr"), 7);
    // Ours must be UTF-8: named, no panic.
    let err = Layer::from_os_env([(OsString::from("MEMPOOLCTL_MIN_NR"), bad())]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable MEMPOOLCTL_MIN_NR is not valid UTF-8; set it to a plain value or unset it"
    );
}
