//! Load parameters, checked against the limits the module itself enforces.

/// The module's own limits (`module/limits.rs`): one definition for both sides.
#[allow(dead_code)]
pub mod limits {
    include!("../../../module/limits.rs");
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("min_nr={value} is out of range: allowed {min}..={max} (elements kept in reserve)")]
    MinNr { value: u64, min: u32, max: u32 },
    #[error("object_size={value} is out of range: allowed {min}..={max} bytes")]
    ObjectSize { value: u64, min: u32, max: u32 },
    #[error("min_nr={min_nr} x object_size={object_size} = {bytes} bytes of reserve exceeds the {max}-byte limit; lower one of them")]
    Reserve {
        min_nr: u32,
        object_size: u32,
        bytes: u64,
        max: u64,
    },
}

/// Parameters passed to `finit_module`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleParams {
    pub min_nr: u32,
    pub object_size: u32,
}

impl Default for ModuleParams {
    fn default() -> Self {
        Self {
            min_nr: limits::MIN_NR_DEFAULT,
            object_size: limits::OBJECT_SIZE_DEFAULT,
        }
    }
}

/// The range `min_nr` must be in (`resize` is checked by clap against the same limits).
fn check_min_nr(min_nr: u64) -> Result<(), ParamError> {
    if !(u64::from(limits::MIN_NR_MIN)..=u64::from(limits::MIN_NR_MAX)).contains(&min_nr) {
        return Err(ParamError::MinNr {
            value: min_nr,
            min: limits::MIN_NR_MIN,
            max: limits::MIN_NR_MAX,
        });
    }
    Ok(())
}

/// The module's `validate_params`, on wide values so out-of-range input is
/// reported as given rather than wrapped.
fn check(min_nr: u64, object_size: u64) -> Result<(), ParamError> {
    check_min_nr(min_nr)?;
    if !(u64::from(limits::OBJECT_SIZE_MIN)..=u64::from(limits::OBJECT_SIZE_MAX))
        .contains(&object_size)
    {
        return Err(ParamError::ObjectSize {
            value: object_size,
            min: limits::OBJECT_SIZE_MIN,
            max: limits::OBJECT_SIZE_MAX,
        });
    }
    let bytes = min_nr * object_size;
    if bytes > limits::RESERVE_BYTES_MAX {
        return Err(ParamError::Reserve {
            min_nr: min_nr as u32,
            object_size: object_size as u32,
            bytes,
            max: limits::RESERVE_BYTES_MAX,
        });
    }
    Ok(())
}

impl ModuleParams {
    /// Builds from user-supplied numbers, checked as the module checks them.
    pub fn new(min_nr: u64, object_size: u64) -> Result<Self, ParamError> {
        check(min_nr, object_size)?;
        // Both fit in u32: `check` bounded them by u32 limits.
        Ok(Self {
            min_nr: min_nr as u32,
            object_size: object_size as u32,
        })
    }

    /// Same checks as the module's `validate_params`.
    pub fn validate(&self) -> Result<(), ParamError> {
        check(self.min_nr.into(), self.object_size.into())
    }

    /// The parameter string the kernel parses.
    pub fn to_kernel_args(&self) -> String {
        format!("min_nr={} object_size={}", self.min_nr, self.object_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_c_original() {
        let p = ModuleParams::default();
        assert_eq!((p.min_nr, p.object_size), (6, 10240));
        assert_eq!(p.to_kernel_args(), "min_nr=6 object_size=10240");
    }

    #[test]
    fn rejects_what_the_module_rejects() {
        assert!(matches!(
            ModuleParams::new(0, 10240),
            Err(ParamError::MinNr { value: 0, .. })
        ));
        assert!(matches!(
            ModuleParams::new(4097, 10240),
            Err(ParamError::MinNr { .. })
        ));
        assert!(matches!(
            ModuleParams::new(1 << 31, 10240),
            Err(ParamError::MinNr { .. })
        ));
        assert!(matches!(
            ModuleParams::new(6, 7),
            Err(ParamError::ObjectSize { value: 7, .. })
        ));
        assert!(matches!(
            ModuleParams::new(6, u64::MAX),
            Err(ParamError::ObjectSize { .. })
        ));
        let err = ModuleParams::new(4096, 131072).unwrap_err();
        assert_eq!(
            err.to_string(),
            "min_nr=4096 x object_size=131072 = 536870912 bytes of reserve exceeds the 67108864-byte limit; lower one of them"
        );
        assert_eq!(
            ModuleParams::new(1, 8).unwrap().to_kernel_args(),
            "min_nr=1 object_size=8"
        );
        assert!(ModuleParams::new(4096, 16384).is_ok());
    }
}

#[cfg(test)]
mod c_limits {
    use super::limits;

    /// The C twin's limits header, value for value the same as limits.rs.
    #[test]
    fn c_twin_limits_match_limits_rs() {
        let header = include_str!("../../../module/c/c_mempool_limits.h");
        let define = |name: &str| -> u64 {
            header
                .lines()
                .find_map(|l| l.strip_prefix(&format!("#define MEMPOOL_{name} ")))
                .unwrap_or_else(|| panic!("MEMPOOL_{name} missing from c_mempool_limits.h"))
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("MEMPOOL_{name}: {e}"))
        };
        let expected: [(&str, u64); 12] = [
            ("MIN_NR_MIN", limits::MIN_NR_MIN.into()),
            ("MIN_NR_MAX", limits::MIN_NR_MAX.into()),
            ("OBJECT_SIZE_MIN", limits::OBJECT_SIZE_MIN.into()),
            ("OBJECT_SIZE_MAX", limits::OBJECT_SIZE_MAX.into()),
            ("RESERVE_BYTES_MAX", limits::RESERVE_BYTES_MAX),
            ("HOLD_MAX", limits::HOLD_MAX.into()),
            ("HELD_BYTES_MAX", limits::HELD_BYTES_MAX),
            ("BENCH_MAX", limits::BENCH_MAX.into()),
            ("BENCH_CHUNKS", limits::BENCH_CHUNKS.into()),
            ("BENCH_CLOCK_STEPS_MIN", limits::BENCH_CLOCK_STEPS_MIN),
            ("MIN_NR_DEFAULT", limits::MIN_NR_DEFAULT.into()),
            ("OBJECT_SIZE_DEFAULT", limits::OBJECT_SIZE_DEFAULT.into()),
        ];
        for (name, value) in expected {
            assert_eq!(define(name), value, "MEMPOOL_{name}");
        }
        // Every define in the header is checked above.
        let defines = header
            .lines()
            .filter(|l| l.starts_with("#define MEMPOOL_"))
            .count();
        assert_eq!(defines, expected.len());
    }
}
