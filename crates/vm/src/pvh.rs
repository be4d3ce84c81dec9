//! Booting a kernel's uncompressed `vmlinux` through its PVH entry: QEMU
//! loads the ELF file itself and enters it in 32-bit protected mode, with no
//! decompressor and no real-mode setup (`CONFIG_PVH=y`). What QEMU looks for
//! is one ELF note, `Xen` / `XEN_ELFNOTE_PHYS32_ENTRY`: a vmlinux without it
//! is refused before the guest starts.

use object::read::elf::{FileHeader, ProgramHeader};
use object::{elf, Endianness};
use std::path::Path;

/// `XEN_ELFNOTE_PHYS32_ENTRY` (include/xen/interface/elfnote.h).
const PHYS32_ENTRY: u32 = 18;

/// Whether QEMU can boot the ELF file `vmlinux` through its PVH entry in
/// place of the bzImage whose `kernel_version` string (its setup header's,
/// see [`crate::bzimage_version`]) is `bzimage_version`: it has the PVH note,
/// and it is that image's kernel (it holds the image's `UTS_VERSION`,
/// `#<build number> SMP ... <build time>`; builds with a fixed
/// `KBUILD_BUILD_TIMESTAMP` can share one, which is why the caller takes the
/// vmlinux only from the image's own build tree). Unreadable: no.
pub fn boots_as(vmlinux: &Path, bzimage_version: &str) -> bool {
    // Read the file (50 MB for the test kernel) only when there is a version to find.
    let Some(at) = bzimage_version.find('#') else {
        return false;
    };
    std::fs::read(vmlinux).is_ok_and(|elf| is_kernel(&elf, &bzimage_version[at..]))
}

/// `elf` has the PVH entry and holds `uts_version`.
fn is_kernel(elf: &[u8], uts_version: &str) -> bool {
    has_pvh_entry(elf) && memchr::memmem::find(elf, uts_version.as_bytes()).is_some()
}

/// Whether the x86-64 ELF file `data` has the PVH entry note in one of its
/// `PT_NOTE` segments (where QEMU reads it).
fn has_pvh_entry(data: &[u8]) -> bool {
    let Ok(header) = elf::FileHeader64::<Endianness>::parse(data) else {
        return false;
    };
    let Ok(endian) = header.endian() else {
        return false;
    };
    if header.e_machine(endian) != elf::EM_X86_64 {
        return false;
    }
    let Ok(segments) = header.program_headers(endian, data) else {
        return false;
    };
    segments.iter().any(|segment| {
        let Ok(Some(mut notes)) = segment.notes(endian, data) else {
            return false;
        };
        while let Ok(Some(note)) = notes.next() {
            if note.name() == b"Xen" && note.n_type(endian) == PHYS32_ENTRY {
                return true;
            }
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERSION: &str = "7.3.4 (root@vm) #1 SMP PREEMPT Sun Nov 29 19:17:38 UTC 2026";

    /// A hand-made x86-64 ELF file: its header, one `PT_NOTE` program header,
    /// the notes (`name`, type), then `rodata`.
    fn elf(machine: u16, notes: &[(&[u8], u32)], rodata: &[u8]) -> Vec<u8> {
        let mut note_bytes = Vec::new();
        for (name, n_type) in notes {
            let namesz = name.len() as u32 + 1;
            note_bytes.extend(namesz.to_le_bytes());
            note_bytes.extend(4u32.to_le_bytes()); // descsz
            note_bytes.extend(n_type.to_le_bytes());
            note_bytes.extend(*name);
            note_bytes.push(0);
            while note_bytes.len() % 4 != 0 {
                note_bytes.push(0);
            }
            note_bytes.extend(0x0100_0000u32.to_le_bytes()); // desc: an entry address
        }
        let (ehsize, phsize) = (64u64, 56u64);
        let mut f = Vec::new();
        f.extend(b"\x7fELF");
        f.extend([2, 1, 1, 0]); // 64-bit, little-endian, version 1, System V
        f.extend([0u8; 8]);
        f.extend(2u16.to_le_bytes()); // ET_EXEC
        f.extend(machine.to_le_bytes());
        f.extend(1u32.to_le_bytes());
        f.extend(0x0100_0000u64.to_le_bytes()); // e_entry
        f.extend(ehsize.to_le_bytes()); // e_phoff
        f.extend(0u64.to_le_bytes()); // e_shoff
        f.extend(0u32.to_le_bytes()); // e_flags
        f.extend((ehsize as u16).to_le_bytes());
        f.extend((phsize as u16).to_le_bytes());
        f.extend(1u16.to_le_bytes()); // e_phnum
        f.extend(64u16.to_le_bytes()); // e_shentsize
        f.extend(0u16.to_le_bytes()); // e_shnum
        f.extend(0u16.to_le_bytes()); // e_shstrndx
        assert_eq!(f.len() as u64, ehsize);
        let offset = ehsize + phsize;
        f.extend(elf::PT_NOTE.to_le_bytes());
        f.extend(4u32.to_le_bytes()); // PF_R
        f.extend(offset.to_le_bytes());
        f.extend(0u64.to_le_bytes()); // p_vaddr
        f.extend(0u64.to_le_bytes()); // p_paddr
        f.extend((note_bytes.len() as u64).to_le_bytes()); // p_filesz
        f.extend((note_bytes.len() as u64).to_le_bytes()); // p_memsz
        f.extend(4u64.to_le_bytes()); // p_align
        f.extend(note_bytes);
        f.extend(rodata);
        f
    }

    fn banner(version: &str) -> Vec<u8> {
        // As linux_banner has it: the compiler between the build's user and its UTS_VERSION.
        let (release, rest) = version.split_once(" (").unwrap();
        let (by, uts) = rest.split_once(") ").unwrap();
        format!("\0Linux version {release} ({by}) (clang version 19.1.7) {uts}\n\0").into_bytes()
    }

    #[test]
    fn the_images_own_vmlinux_with_the_pvh_note_boots() {
        let notes: &[(&[u8], u32)] = &[(b"Linux", 6), (b"Xen", 19), (b"Xen", PHYS32_ENTRY)];
        let dir = tempfile::tempdir().unwrap();
        let vmlinux = dir.path().join("vmlinux");
        std::fs::write(&vmlinux, elf(elf::EM_X86_64, notes, &banner(VERSION))).unwrap();
        assert!(boots_as(&vmlinux, VERSION));
        // No UTS_VERSION in the image's string, or no file.
        assert!(!boots_as(&vmlinux, "7.3.4"));
        assert!(!boots_as(&dir.path().join("none"), VERSION));
    }

    #[test]
    fn no_pvh_note_another_build_or_no_x86_elf_does_not() {
        let own = banner(VERSION);
        let pvh: &[(&[u8], u32)] = &[(b"Xen", PHYS32_ENTRY)];
        // Xen notes, but not the entry; the entry's type under another name.
        let other_notes: &[(&[u8], u32)] = &[(b"Xen", 19), (b"Linux", PHYS32_ENTRY)];
        let uts = &VERSION[VERSION.find('#').unwrap()..];
        assert!(is_kernel(&elf(elf::EM_X86_64, pvh, &own), uts));
        assert!(!is_kernel(&elf(elf::EM_X86_64, other_notes, &own), uts));
        assert!(!is_kernel(&elf(elf::EM_X86_64, &[], &own), uts));
        // Another build of the same release: another build time.
        let other = banner("7.3.4 (root@vm) #1 SMP PREEMPT Sun Nov 29 15:09:56 UTC 2026");
        assert!(!is_kernel(&elf(elf::EM_X86_64, pvh, &other), uts));
        assert!(!is_kernel(&elf(elf::EM_AARCH64, pvh, &own), uts));
        // Not ELF, or cut short before its notes end: no, and no panic.
        let good = elf(elf::EM_X86_64, pvh, &own);
        assert!(!is_kernel(&own, uts));
        let notes_end = good.len() - own.len();
        for len in 0..notes_end {
            assert!(!has_pvh_entry(&good[..len]), "cut at {len}");
        }
        assert!(has_pvh_entry(&good[..notes_end]));
    }
}
