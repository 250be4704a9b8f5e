//! The kinds of case the council's field teams work.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// A kind of case. Its code is stored in documents and tables; its prefix starts references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseKind {
    FoodHygiene,
    Housing,
    Highways,
    FlyTipping,
    Enforcement,
    General,
}

impl CaseKind {
    pub const ALL: [CaseKind; 6] = [
        Self::FoodHygiene,
        Self::Housing,
        Self::Highways,
        Self::FlyTipping,
        Self::Enforcement,
        Self::General,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::FoodHygiene => "food_hygiene",
            Self::Housing => "housing",
            Self::Highways => "highways",
            Self::FlyTipping => "fly_tipping",
            Self::Enforcement => "enforcement",
            Self::General => "general",
        }
    }

    /// The two letters that start this kind's case references.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::FoodHygiene => "FH",
            Self::Housing => "HS",
            Self::Highways => "HW",
            Self::FlyTipping => "FT",
            Self::Enforcement => "EN",
            Self::General => "GN",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::FoodHygiene => "Food hygiene",
            Self::Housing => "Housing (HHSRS)",
            Self::Highways => "Highway defect",
            Self::FlyTipping => "Fly-tipping",
            Self::Enforcement => "Enforcement",
            Self::General => "General",
        }
    }

    pub fn from_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.prefix() == prefix)
    }
}

impl fmt::Display for CaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for CaseKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.code() == s || k.prefix().eq_ignore_ascii_case(s))
            .ok_or_else(|| DomainError::UnknownCaseKind {
                value: s.chars().take(40).collect(),
                known: Self::ALL.map(|k| k.code()).join(", "),
            })
    }
}

crate::code_enum_in_automerge!(CaseKind, "a case kind");
