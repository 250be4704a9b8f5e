//! Human case references, such as `FH-2026-7-0042`, that two offline devices can never both mint.
//!
//! A reference is `{kind prefix}-{year}-{device number}-{sequence}`:
//! - the kind prefix (`FH` food hygiene, `HS` housing, ...) and the year tell an officer at a
//!   glance what and when;
//! - the device number is unique per device within the council. It is issued once, when the
//!   device is enrolled (by the server at registration, or by an admin for a standalone device),
//!   and never reused, so two devices can never produce the same reference: no coordination is
//!   needed at the moment a case is created, which may be in a cellar with no signal;
//! - the sequence counts up per device, kind and year, in the same database transaction that
//!   creates the case, so one device never repeats itself either (padded to four digits, longer
//!   when a device passes 9,999 cases of one kind in a year).
//!
//! The alternative of leasing blocks of numbers from the server fails for a device that has run
//! out of its block while offline; random suffixes are not something to read out over the phone.

use std::fmt;
use std::str::FromStr;

use crate::{CaseKind, DomainError};

/// The largest device number a reference may carry.
pub const MAX_DEVICE_NUMBER: u32 = 999_999;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseReference {
    pub kind: CaseKind,
    pub year: i32,
    pub device_number: u32,
    pub sequence: u32,
}

impl CaseReference {
    pub fn new(
        kind: CaseKind,
        year: i32,
        device_number: u32,
        sequence: u32,
    ) -> Result<Self, DomainError> {
        let r = Self {
            kind,
            year,
            device_number,
            sequence,
        };
        if !(2000..=2999).contains(&year)
            || device_number == 0
            || device_number > MAX_DEVICE_NUMBER
            || sequence == 0
        {
            return Err(DomainError::InvalidReference {
                value: r.to_string(),
            });
        }
        Ok(r)
    }
}

impl CaseReference {
    /// A key that sorts references as people expect: by kind, year, device, then sequence, in
    /// number order (`FH-2026-1-9999` before `FH-2026-1-10000`).
    pub fn sort_key(&self) -> String {
        format!(
            "{}-{:04}-{:06}-{:010}",
            self.kind.prefix(),
            self.year,
            self.device_number,
            self.sequence
        )
    }
}

impl fmt::Display for CaseReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}-{:04}",
            self.kind.prefix(),
            self.year,
            self.device_number,
            self.sequence
        )
    }
}

impl FromStr for CaseReference {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DomainError::InvalidReference {
            value: s.chars().take(40).collect(),
        };
        let upper = s.trim().to_ascii_uppercase();
        let parts: Vec<&str> = upper.split('-').collect();
        let [prefix, year, device, seq] = parts[..] else {
            return Err(bad());
        };
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(year)
            || !digits(device)
            || !digits(seq)
            || seq.len() < 4
            || device.starts_with('0')
        {
            return Err(bad());
        }
        let kind = CaseKind::from_prefix(prefix).ok_or_else(bad)?;
        let r = CaseReference::new(
            kind,
            year.parse().map_err(|_| bad())?,
            device.parse().map_err(|_| bad())?,
            seq.parse().map_err(|_| bad())?,
        )
        .map_err(|_| bad())?;
        // Only the canonical spelling parses, so one case has exactly one reference string.
        if r.to_string() != upper {
            return Err(bad());
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_format_and_parse() {
        let r = CaseReference::new(CaseKind::FoodHygiene, 2026, 7, 42).expect("valid");
        assert_eq!(r.to_string(), "FH-2026-7-0042");
        assert_eq!("FH-2026-7-0042".parse::<CaseReference>(), Ok(r.clone()));
        assert_eq!("fh-2026-7-0042".parse::<CaseReference>(), Ok(r));
        let big = CaseReference::new(CaseKind::Housing, 2027, 123, 12_345).expect("valid");
        assert_eq!(big.to_string(), "HS-2027-123-12345");
        assert_eq!(big.to_string().parse::<CaseReference>(), Ok(big));
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in [
            "",
            "FH",
            "FH-2026-0042",
            "XX-2026-1-0001",
            "FH-2026-0-0001",
            "FH-2026-01-0001",
            "FH-2026-1-42",
            "FH-2026-1-0000",
            "FH-26-1-0001",
            "FH-2026-1-0001-9",
            "FH-2026-a-0001",
        ] {
            assert!(bad.parse::<CaseReference>().is_err(), "{bad}");
        }
    }

    #[test]
    fn sort_keys_order_by_number() {
        let key = |s: &str| s.parse::<CaseReference>().expect("valid").sort_key();
        assert!(key("FH-2026-1-9999") < key("FH-2026-1-10000"));
        assert!(key("FH-2026-9-0001") < key("FH-2026-10-0001"));
        assert!(key("FH-2026-10-0001") < key("FH-2027-1-0001"));
    }

    #[test]
    fn different_devices_never_mint_the_same_reference() {
        // Same kind, year and sequence: the device number alone keeps them apart.
        let a = CaseReference::new(CaseKind::FlyTipping, 2026, 1, 1).expect("valid");
        let b = CaseReference::new(CaseKind::FlyTipping, 2026, 11, 1).expect("valid");
        let c = CaseReference::new(CaseKind::FlyTipping, 2026, 1, 11).expect("valid");
        assert_ne!(a.to_string(), b.to_string());
        assert_ne!(b.to_string(), c.to_string());
    }
}
