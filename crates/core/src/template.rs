//! Inspection templates: the questions an officer answers on a visit.
//!
//! Templates are data, not code. Each is a JSON document (see `crates/core/templates/`) with a
//! `"schema"` number, an id and a version; a visit records which template id and version it was
//! made with, so a template is never changed once shipped: a new version is added instead.
//! Every template is validated when it is loaded ([`Template::from_json`]) and refused with a
//! precise reason if it is malformed, so the rest of the app can trust its shape.
//!
//! A template may carry a scoring rule. The only rule so far is the Food Standards Agency's Food
//! Hygiene Rating Scheme ([`fsa_rating`]).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use autosurgeon::{Hydrate, HydrateError, Prop, ReadDoc};
use serde::Deserialize;

use crate::error::DomainError;
use crate::time::Date;

/// The template file format this build reads (the `"schema"` member of a template's JSON).
pub const TEMPLATE_SCHEMA: u32 = 1;

/// Id of the built-in template used for any kind of case without a template of its own.
pub const GENERAL_VISIT: &str = "general-visit";
/// Id of the built-in food hygiene inspection template.
pub const FOOD_HYGIENE: &str = "food-hygiene";
/// Id of the built-in housing hazard survey: a screening of the 29 HHSRS hazards.
pub const HHSRS_SURVEY: &str = "hhsrs-survey";

/// Scores allowed for "hygienic food handling" in the FSA Food Hygiene Rating Scheme Brand
/// Standard (lower is better).
pub const FSA_HYGIENE_SCORES: [u32; 6] = [0, 5, 10, 15, 20, 25];
/// Scores allowed for "structure and cleaning" in the FSA Food Hygiene Rating Scheme Brand
/// Standard (lower is better).
pub const FSA_STRUCTURE_SCORES: [u32; 6] = [0, 5, 10, 15, 20, 25];
/// Scores allowed for "confidence in management" in the FSA Food Hygiene Rating Scheme Brand
/// Standard (lower is better).
pub const FSA_MANAGEMENT_SCORES: [u32; 5] = [0, 5, 10, 20, 30];

/// The longest `max_len` a text item may declare.
pub const MAX_TEXT_LEN: usize = 10_000;
/// The longest id (template, section, item or choice value).
pub const MAX_ID_LEN: usize = 64;

const GENERAL_VISIT_V1_JSON: &str = include_str!("../templates/general-visit.v1.json");
const FOOD_HYGIENE_V1_JSON: &str = include_str!("../templates/food-hygiene.v1.json");
const HHSRS_SURVEY_V1_JSON: &str = include_str!("../templates/hhsrs-survey.v1.json");

/// Every shipped template's JSON, in the order [`builtin_templates`] lists them.
const BUILTIN_JSON: [&str; 3] = [
    GENERAL_VISIT_V1_JSON,
    FOOD_HYGIENE_V1_JSON,
    HHSRS_SURVEY_V1_JSON,
];

/// An inspection template: sections of questions ("items"), and optionally a scoring rule.
///
/// Only [`Template::from_json`] makes one from data, and it validates what it reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub description: Option<String>,
    /// Case kind codes (such as `food_hygiene`) this template is for; empty means any kind.
    pub case_kinds: Vec<String>,
    pub sections: Vec<Section>,
    pub scoring: Option<ScoringRule>,
}

/// A group of items, shown as one task in the task list of a visit.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub items: Vec<Item>,
}

/// One question.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Unique within the template; answers are stored under it.
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub hint: Option<String>,
    pub required: bool,
    pub kind: ItemKind,
}

/// What kind of answer an item takes. In JSON, internally tagged by `"type"`, for example
/// `{"type":"number","min":0,"max":100,"integer":true}` or `{"type":"yes_no"}`; `unit`,
/// `integer` and `multiline` may be left out (no unit, `false`, `false`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "ItemKindJson")]
pub enum ItemKind {
    YesNo,
    Choice {
        options: Vec<ChoiceOption>,
    },
    Number {
        min: f64,
        max: f64,
        unit: Option<String>,
        integer: bool,
    },
    Text {
        max_len: usize,
        multiline: bool,
    },
    Date,
    Score {
        options: Vec<u32>,
    },
}

/// The JSON form of [`ItemKind`]. serde ignores unknown fields next to the tag of a unit
/// variant (`{"type":"yes_no","colour":1}`), so here every variant has braces, which makes
/// `deny_unknown_fields` apply to all of them.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ItemKindJson {
    YesNo {},
    Choice {
        options: Vec<ChoiceOption>,
    },
    Number {
        min: f64,
        max: f64,
        #[serde(default)]
        unit: Option<String>,
        #[serde(default)]
        integer: bool,
    },
    Text {
        max_len: usize,
        #[serde(default)]
        multiline: bool,
    },
    Date {},
    Score {
        options: Vec<u32>,
    },
}

impl From<ItemKindJson> for ItemKind {
    fn from(json: ItemKindJson) -> Self {
        match json {
            ItemKindJson::YesNo {} => Self::YesNo,
            ItemKindJson::Choice { options } => Self::Choice { options },
            ItemKindJson::Number {
                min,
                max,
                unit,
                integer,
            } => Self::Number {
                min,
                max,
                unit,
                integer,
            },
            ItemKindJson::Text { max_len, multiline } => Self::Text { max_len, multiline },
            ItemKindJson::Date {} => Self::Date,
            ItemKindJson::Score { options } => Self::Score { options },
        }
    }
}

impl ItemKind {
    /// The kind's code, the same as [`AnswerValue::kind_code`] for the answers it takes.
    pub fn code(&self) -> &'static str {
        match self {
            Self::YesNo => "yes_no",
            Self::Choice { .. } => "choice",
            Self::Number { .. } => "number",
            Self::Text { .. } => "text",
            Self::Date => "date",
            Self::Score { .. } => "score",
        }
    }
}

/// One option of a choice item: `value` is what is stored, `label` what people see.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub value: String,
    pub label: String,
}

/// How a template's answers make a score. In JSON, tagged by `"rule"`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScoringRule {
    /// The FSA Food Hygiene Rating Scheme: the ids of the score items for the three elements.
    FsaFhrs {
        hygiene: String,
        structure: String,
        management: String,
    },
}

/// The value of one answer, stored inside the case's automerge document.
///
/// In the document each value is a map with one key, the value's [`AnswerValue::kind_code`],
/// for example `{"number": 45.0}` or `{"date": "2026-03-31"}`. Numbers and scores written as
/// integers by other automerge clients (JavaScript stores whole numbers as integers) are read
/// back too.
#[derive(Clone, Debug, PartialEq, autosurgeon::Reconcile, autosurgeon::Hydrate)]
pub enum AnswerValue {
    #[autosurgeon(rename = "yes_no")]
    YesNo(bool),
    #[autosurgeon(rename = "choice")]
    Choice(String),
    #[autosurgeon(rename = "number")]
    Number(#[autosurgeon(hydrate = "hydrate_number")] f64),
    #[autosurgeon(rename = "text")]
    Text(String),
    #[autosurgeon(rename = "date")]
    Date(crate::time::Date),
    #[autosurgeon(rename = "score")]
    Score(#[autosurgeon(hydrate = "hydrate_score")] u32),
}

impl AnswerValue {
    /// The value as plain text: "Yes"/"No", the stored choice value, numbers without a trailing
    /// `.0` when whole, dates as `YYYY-MM-DD`. [`Template::display_answer`] shows choice labels
    /// and units instead.
    pub fn display(&self) -> String {
        match self {
            Self::YesNo(true) => "Yes".to_string(),
            Self::YesNo(false) => "No".to_string(),
            Self::Choice(value) => value.clone(),
            Self::Number(n) => format_number(*n),
            Self::Text(text) => text.clone(),
            Self::Date(date) => date.to_string(),
            Self::Score(score) => score.to_string(),
        }
    }

    /// `yes_no`, `choice`, `number`, `text`, `date` or `score`.
    pub fn kind_code(&self) -> &'static str {
        match self {
            Self::YesNo(_) => "yes_no",
            Self::Choice(_) => "choice",
            Self::Number(_) => "number",
            Self::Text(_) => "text",
            Self::Date(_) => "date",
            Self::Score(_) => "score",
        }
    }
}

/// Reads a number stored as a float, or as an integer by another client.
fn hydrate_number<D: ReadDoc>(
    doc: &D,
    obj: &automerge::ObjId,
    prop: Prop<'_>,
) -> Result<f64, HydrateError> {
    struct Lenient(f64);
    impl Hydrate for Lenient {
        fn hydrate_f64(f: f64) -> Result<Self, HydrateError> {
            Ok(Self(f))
        }
        fn hydrate_int(i: i64) -> Result<Self, HydrateError> {
            Ok(Self(i as f64))
        }
        fn hydrate_uint(u: u64) -> Result<Self, HydrateError> {
            Ok(Self(u as f64))
        }
    }
    Lenient::hydrate(doc, obj, prop).map(|n| n.0)
}

/// Reads a score stored as an unsigned or signed integer, or as a whole float.
fn hydrate_score<D: ReadDoc>(
    doc: &D,
    obj: &automerge::ObjId,
    prop: Prop<'_>,
) -> Result<u32, HydrateError> {
    struct Lenient(u32);
    fn out_of_range(found: String) -> HydrateError {
        HydrateError::unexpected("a whole-number score from 0 to 4294967295", found)
    }
    impl Hydrate for Lenient {
        fn hydrate_uint(u: u64) -> Result<Self, HydrateError> {
            u32::try_from(u)
                .map(Self)
                .map_err(|_| out_of_range(u.to_string()))
        }
        fn hydrate_int(i: i64) -> Result<Self, HydrateError> {
            u32::try_from(i)
                .map(Self)
                .map_err(|_| out_of_range(i.to_string()))
        }
        fn hydrate_f64(f: f64) -> Result<Self, HydrateError> {
            if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) {
                Ok(Self(f as u32))
            } else {
                Err(out_of_range(f.to_string()))
            }
        }
    }
    Lenient::hydrate(doc, obj, prop).map(|n| n.0)
}

/// The result of scoring a visit with the FSA Food Hygiene Rating Scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreOutcome {
    /// The sum of the element scores.
    pub total: u32,
    /// The food hygiene rating, 0 (urgent improvement necessary) to 5 (very good).
    pub rating: u8,
    /// Each element's item id and score: hygiene, structure, management.
    pub elements: Vec<(String, u32)>,
}

/// The top level of a template file: a [`Template`] plus its schema number.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    /// Checked in [`Template::from_json`] before the rest is read.
    #[serde(rename = "schema")]
    _schema: u32,
    id: String,
    version: u32,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    case_kinds: Vec<String>,
    sections: Vec<Section>,
    #[serde(default)]
    scoring: Option<ScoringRule>,
}

fn invalid(reason: impl Into<String>) -> DomainError {
    DomainError::InvalidTemplate(reason.into())
}

/// What is wrong with an id, if anything: ids are 1 to [`MAX_ID_LEN`] characters from `a-z`,
/// `0-9`, `_` and `.` (and `-` when `allow_hyphen`, for template ids such as `general-visit`).
fn id_problem(id: &str, allow_hyphen: bool) -> Option<String> {
    if id.is_empty() {
        return Some("is empty".to_string());
    }
    if id.chars().count() > MAX_ID_LEN {
        return Some(format!("is longer than {MAX_ID_LEN} characters"));
    }
    let ok = id.chars().all(|c| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '_'
            || c == '.'
            || (allow_hyphen && c == '-')
    });
    if ok {
        None
    } else if allow_hyphen {
        Some("may only use lowercase letters, digits, '_', '.' and '-'".to_string())
    } else {
        Some("may only use lowercase letters, digits, '_' and '.'".to_string())
    }
}

/// Refuses a bad id, naming it and where it is (`what`, such as "item id").
fn check_id(what: &str, id: &str, allow_hyphen: bool) -> Result<(), DomainError> {
    match id_problem(id, allow_hyphen) {
        None => Ok(()),
        Some(problem) => Err(invalid(format!("{what} '{id}' {problem}"))),
    }
}

fn list<T: ToString>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number as people write it: no trailing `.0` when whole, and no `-0`.
fn format_number(n: f64) -> String {
    if n == 0.0 {
        "0".to_string()
    } else {
        n.to_string()
    }
}

impl Template {
    /// Reads and validates a template from its JSON. Any problem is a
    /// [`DomainError::InvalidTemplate`] saying what is wrong and where.
    pub fn from_json(json: &str) -> Result<Template, DomainError> {
        // Read the schema number first, so a file from a newer schema is refused for its
        // schema number rather than for the first field this build does not know.
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| invalid(format!("the template is not valid JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(invalid("the template must be a JSON object ({ ... })"));
        };
        match object.get("schema") {
            None => {
                return Err(invalid(format!(
                    "the template has no \"schema\" number (this app reads schema {TEMPLATE_SCHEMA})"
                )));
            }
            Some(serde_json::Value::Number(n))
                if n.as_u64() == Some(u64::from(TEMPLATE_SCHEMA)) => {}
            Some(other) => {
                return Err(invalid(format!(
                    "the template is written in schema {other}, but this app reads schema {TEMPLATE_SCHEMA}"
                )));
            }
        }
        let file: TemplateFile = serde_json::from_str(json)
            .map_err(|e| invalid(format!("the template's JSON does not fit the schema: {e}")))?;
        let template = Template {
            id: file.id,
            version: file.version,
            title: file.title,
            description: file.description,
            case_kinds: file.case_kinds,
            sections: file.sections,
            scoring: file.scoring,
        };
        template.validate()?;
        Ok(template)
    }

    /// Checks everything serde cannot: ids, uniqueness, ranges and the scoring rule.
    fn validate(&self) -> Result<(), DomainError> {
        check_id("template id", &self.id, true)?;
        let id = &self.id;
        if self.title.trim().is_empty() {
            return Err(invalid(format!("template '{id}' has an empty title")));
        }
        if self.version == 0 {
            return Err(invalid(format!(
                "template '{id}' has version 0: versions start at 1"
            )));
        }
        let mut kinds = HashSet::new();
        for kind in &self.case_kinds {
            check_id(&format!("template '{id}': case kind"), kind, false)?;
            if !kinds.insert(kind.as_str()) {
                return Err(invalid(format!(
                    "template '{id}' lists case kind '{kind}' twice"
                )));
            }
        }
        if self.sections.is_empty() {
            return Err(invalid(format!("template '{id}' has no sections")));
        }
        let mut section_ids = HashSet::new();
        // item id -> the section it is in
        let mut item_sections: HashMap<&str, &str> = HashMap::new();
        for section in &self.sections {
            check_id(&format!("template '{id}': section id"), &section.id, false)?;
            if !section_ids.insert(section.id.as_str()) {
                return Err(invalid(format!(
                    "section id '{}' is used twice in template '{id}'",
                    section.id
                )));
            }
            if section.title.trim().is_empty() {
                return Err(invalid(format!(
                    "section '{}' has an empty title",
                    section.id
                )));
            }
            if section.items.is_empty() {
                return Err(invalid(format!("section '{}' has no items", section.id)));
            }
            for item in &section.items {
                check_id(
                    &format!("section '{}': item id", section.id),
                    &item.id,
                    false,
                )?;
                if let Some(first) = item_sections.insert(&item.id, &section.id) {
                    let place = if first == section.id {
                        format!("in section '{first}'")
                    } else {
                        format!("(in sections '{first}' and '{}')", section.id)
                    };
                    return Err(invalid(format!(
                        "item id '{}' is used twice {place}",
                        item.id
                    )));
                }
                validate_item(item)?;
            }
        }
        if let Some(rule) = &self.scoring {
            self.validate_scoring(rule)?;
        }
        Ok(())
    }

    fn validate_scoring(&self, rule: &ScoringRule) -> Result<(), DomainError> {
        match rule {
            ScoringRule::FsaFhrs {
                hygiene,
                structure,
                management,
            } => {
                let elements: [(&str, &String, &[u32]); 3] = [
                    ("hygiene", hygiene, &FSA_HYGIENE_SCORES),
                    ("structure", structure, &FSA_STRUCTURE_SCORES),
                    ("management", management, &FSA_MANAGEMENT_SCORES),
                ];
                let mut seen = HashSet::new();
                for (element, item_id, allowed) in elements {
                    if !seen.insert(item_id.as_str()) {
                        return Err(invalid(format!(
                            "the fsa_fhrs scoring rule uses item '{item_id}' for more than one element"
                        )));
                    }
                    let Some(item) = self.item(item_id) else {
                        return Err(invalid(format!(
                            "the fsa_fhrs scoring rule names item '{item_id}' as its {element} element, but the template has no such item"
                        )));
                    };
                    let ItemKind::Score { options } = &item.kind else {
                        return Err(invalid(format!(
                            "the fsa_fhrs scoring rule's {element} element '{item_id}' is a {} item, not a score item",
                            item.kind.code()
                        )));
                    };
                    if options.as_slice() != allowed {
                        return Err(invalid(format!(
                            "score item '{item_id}' ({element} element of the fsa_fhrs rule) has options {}, but the FSA scores for {element} are {}",
                            list(options),
                            list(allowed)
                        )));
                    }
                }
                Ok(())
            }
        }
    }

    /// The item with this id, in any section.
    pub fn item(&self, item_id: &str) -> Option<&Item> {
        self.items().find(|item| item.id == item_id)
    }

    /// All items, in section order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections
            .iter()
            .flat_map(|section| section.items.iter())
    }

    /// Whether this template may be used for a case of this kind.
    pub fn applies_to(&self, kind_code: &str) -> bool {
        self.case_kinds.is_empty() || self.case_kinds.iter().any(|k| k == kind_code)
    }

    fn require_item(&self, item_id: &str) -> Result<&Item, DomainError> {
        self.item(item_id).ok_or_else(|| DomainError::UnknownItem {
            template: self.id.clone(),
            item: item_id.to_string(),
        })
    }

    /// Parses a person's typed text into a value for this item, and validates it.
    ///
    /// Yes/no takes `yes`, `no`, `y`, `n`, `true`, `false` (any case); a choice takes an
    /// option's value or label (any case); numbers are decimal (`12`, `12.5`); dates are
    /// `YYYY-MM-DD`; scores are whole numbers. Surrounding whitespace is ignored. Text that
    /// cannot be read is an [`DomainError::InvalidAnswer`] (also for dates); an unknown item
    /// id is [`DomainError::UnknownItem`].
    pub fn parse_answer(&self, item_id: &str, input: &str) -> Result<AnswerValue, DomainError> {
        let item = self.require_item(item_id)?;
        let text = input.trim();
        let value = match &item.kind {
            ItemKind::YesNo => match text.to_lowercase().as_str() {
                "yes" | "y" | "true" => AnswerValue::YesNo(true),
                "no" | "n" | "false" => AnswerValue::YesNo(false),
                _ => return Err(answer_error(item, "answer yes or no")),
            },
            ItemKind::Choice { options } => {
                let wanted = text.to_lowercase();
                match options.iter().find(|option| {
                    option.value.to_lowercase() == wanted || option.label.to_lowercase() == wanted
                }) {
                    Some(option) => AnswerValue::Choice(option.value.clone()),
                    None => {
                        let labels: Vec<&str> = options.iter().map(|o| o.label.as_str()).collect();
                        let reason = if text.is_empty() {
                            format!("choose one of: {}", labels.join(", "))
                        } else {
                            format!(
                                "'{text}' is not an option: choose one of {}",
                                labels.join(", ")
                            )
                        };
                        return Err(answer_error(item, reason));
                    }
                }
            }
            ItemKind::Number { .. } => match text.parse::<f64>() {
                Ok(n) if n.is_finite() => AnswerValue::Number(n),
                _ => return Err(answer_error(item, "enter a number, for example 12 or 12.5")),
            },
            ItemKind::Text { .. } => AnswerValue::Text(text.to_string()),
            ItemKind::Date => match text.parse::<Date>() {
                Ok(date) => AnswerValue::Date(date),
                Err(_) => {
                    return Err(answer_error(
                        item,
                        "enter a real date as YYYY-MM-DD, for example 2026-03-31",
                    ));
                }
            },
            ItemKind::Score { options } => match text.parse::<u32>() {
                Ok(score) => AnswerValue::Score(score),
                Err(_) => {
                    return Err(answer_error(
                        item,
                        format!("enter a score, one of {}", list(options)),
                    ));
                }
            },
        };
        validate_value(item, &value)?;
        Ok(value)
    }

    /// Validates a typed value against the item: the kind matches; a number is in range and
    /// whole when the item wants whole numbers; a choice is one of the options; text is not
    /// blank and at most `max_len` characters; a score is one of the options.
    pub fn validate_answer(&self, item_id: &str, value: &AnswerValue) -> Result<(), DomainError> {
        validate_value(self.require_item(item_id)?, value)
    }

    /// The answer as people should see it: choices by their label, numbers with their unit.
    /// Falls back to [`AnswerValue::display`] for an unknown item or a value that does not fit.
    pub fn display_answer(&self, item_id: &str, value: &AnswerValue) -> String {
        match (self.item(item_id).map(|item| &item.kind), value) {
            (Some(ItemKind::Choice { options }), AnswerValue::Choice(v)) => options
                .iter()
                .find(|option| option.value == *v)
                .map_or_else(|| v.clone(), |option| option.label.clone()),
            (
                Some(ItemKind::Number {
                    unit: Some(unit), ..
                }),
                AnswerValue::Number(n),
            ) => {
                format!("{} {unit}", format_number(*n))
            }
            _ => value.display(),
        }
    }

    /// Required items with no answer, in template order.
    pub fn missing_required(&self, is_answered: impl Fn(&str) -> bool) -> Vec<&Item> {
        self.items()
            .filter(|item| item.required && !is_answered(&item.id))
            .collect()
    }

    /// The score when the template has a scoring rule and all its elements are answered with
    /// allowed scores; otherwise `None`.
    pub fn score(&self, answer: impl Fn(&str) -> Option<AnswerValue>) -> Option<ScoreOutcome> {
        match self.scoring.as_ref()? {
            ScoringRule::FsaFhrs {
                hygiene,
                structure,
                management,
            } => {
                let get = |id: &str| match answer(id) {
                    Some(AnswerValue::Score(score)) => Some(score),
                    _ => None,
                };
                let (h, s, m) = (get(hygiene)?, get(structure)?, get(management)?);
                let rating = fsa_rating(h, s, m).ok()?;
                Some(ScoreOutcome {
                    total: h + s + m,
                    rating,
                    elements: vec![
                        (hygiene.clone(), h),
                        (structure.clone(), s),
                        (management.clone(), m),
                    ],
                })
            }
        }
    }
}

fn answer_error(item: &Item, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidAnswer {
        item: item.id.clone(),
        label: item.label.clone(),
        reason: reason.into(),
    }
}

fn kind_name(code: &str) -> &'static str {
    match code {
        "yes_no" => "a yes or no answer",
        "choice" => "a choice",
        "number" => "a number",
        "text" => "text",
        "date" => "a date",
        "score" => "a score",
        _ => "an answer",
    }
}

fn validate_value(item: &Item, value: &AnswerValue) -> Result<(), DomainError> {
    match (&item.kind, value) {
        (ItemKind::YesNo, AnswerValue::YesNo(_)) | (ItemKind::Date, AnswerValue::Date(_)) => Ok(()),
        (ItemKind::Choice { options }, AnswerValue::Choice(v)) => {
            if options.iter().any(|option| option.value == *v) {
                Ok(())
            } else {
                let values: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
                Err(answer_error(
                    item,
                    format!(
                        "'{v}' is not an option: choose one of {}",
                        values.join(", ")
                    ),
                ))
            }
        }
        (
            ItemKind::Number {
                min,
                max,
                unit,
                integer,
            },
            AnswerValue::Number(n),
        ) => {
            let unit = unit.as_ref().map(|u| format!(" {u}")).unwrap_or_default();
            let whole = if *integer {
                "a whole number"
            } else {
                "a number"
            };
            let range = format!(
                "must be {whole} from {} to {}{unit}",
                format_number(*min),
                format_number(*max)
            );
            if !n.is_finite() {
                Err(answer_error(item, range))
            } else if *integer && n.fract() != 0.0 {
                Err(answer_error(
                    item,
                    format!("{range} ({} is not a whole number)", format_number(*n)),
                ))
            } else if n < min || n > max {
                Err(answer_error(item, range))
            } else {
                Ok(())
            }
        }
        (ItemKind::Text { max_len, .. }, AnswerValue::Text(text)) => {
            let len = text.chars().count();
            if text.trim().is_empty() {
                Err(answer_error(item, "enter some text"))
            } else if len > *max_len {
                Err(answer_error(
                    item,
                    format!("must be {max_len} characters or fewer (it has {len})"),
                ))
            } else {
                Ok(())
            }
        }
        (ItemKind::Score { options }, AnswerValue::Score(score)) => {
            if options.contains(score) {
                Ok(())
            } else {
                Err(answer_error(
                    item,
                    format!(
                        "{score} is not an allowed score: choose one of {}",
                        list(options)
                    ),
                ))
            }
        }
        (kind, value) => Err(answer_error(
            item,
            format!(
                "expected {}, not {}",
                kind_name(kind.code()),
                kind_name(value.kind_code())
            ),
        )),
    }
}

fn validate_item(item: &Item) -> Result<(), DomainError> {
    let id = &item.id;
    if item.label.trim().is_empty() {
        return Err(invalid(format!("item '{id}' has an empty label")));
    }
    match &item.kind {
        ItemKind::YesNo | ItemKind::Date => {}
        ItemKind::Choice { options } => {
            if options.len() < 2 {
                return Err(invalid(format!(
                    "choice item '{id}' needs at least 2 options (it has {})",
                    options.len()
                )));
            }
            let mut values = HashSet::new();
            let mut labels = HashSet::new();
            for option in options {
                check_id(
                    &format!("choice item '{id}': option value"),
                    &option.value,
                    false,
                )?;
                if !values.insert(option.value.as_str()) {
                    return Err(invalid(format!(
                        "choice item '{id}' has the value '{}' twice",
                        option.value
                    )));
                }
                if option.label.trim().is_empty() {
                    return Err(invalid(format!(
                        "choice item '{id}' has an empty label for value '{}'",
                        option.value
                    )));
                }
                if !labels.insert(option.label.to_lowercase()) {
                    return Err(invalid(format!(
                        "choice item '{id}' has the label '{}' twice",
                        option.label
                    )));
                }
            }
        }
        ItemKind::Number { min, max, unit, .. } => {
            if !min.is_finite() || !max.is_finite() {
                return Err(invalid(format!(
                    "number item '{id}' has a min or max that is not a finite number"
                )));
            }
            if min > max {
                return Err(invalid(format!(
                    "number item '{id}' has min {} greater than max {}",
                    format_number(*min),
                    format_number(*max)
                )));
            }
            if unit.as_ref().is_some_and(|u| u.trim().is_empty()) {
                return Err(invalid(format!("number item '{id}' has an empty unit")));
            }
        }
        ItemKind::Text { max_len, .. } => {
            if *max_len == 0 || *max_len > MAX_TEXT_LEN {
                return Err(invalid(format!(
                    "text item '{id}' has max_len {max_len}: it must be from 1 to {MAX_TEXT_LEN}"
                )));
            }
        }
        ItemKind::Score { options } => {
            if options.is_empty() {
                return Err(invalid(format!("score item '{id}' has no options")));
            }
            if options.windows(2).any(|pair| pair[0] >= pair[1]) {
                return Err(invalid(format!(
                    "score item '{id}' has options {}: they must be in increasing order with no repeats",
                    list(options)
                )));
            }
        }
    }
    Ok(())
}

/// The FSA Food Hygiene Rating Scheme rating (0 to 5) from the three element scores, where a
/// lower score is better.
///
/// Source: Food Standards Agency, "Food Hygiene Rating Scheme Brand Standard" (the scores and
/// the table of ratings). Each element takes only the scores the scheme allows: hygienic food
/// handling and structure and cleaning 0, 5, 10, 15, 20 or 25; confidence in management 0, 5,
/// 10, 20 or 30. Anything else is refused with [`DomainError::InvalidAnswer`] whose `item` is
/// `hygiene`, `structure` or `management`.
///
/// | total     | rating | and no element above |
/// |-----------|--------|----------------------|
/// | 0 to 15   | 5      | 5                    |
/// | 20        | 4      | 10                   |
/// | 25 to 30  | 3      | 10                   |
/// | 35 to 40  | 2      | 15                   |
/// | 45 to 50  | 1      | 20                   |
/// | over 50   | 0      | -                    |
///
/// The rating is the lower of the rating the total earns and the rating the worst element
/// allows; for example 5/5/10 totals 20 and rates 4, but 0/0/20 also totals 20 and rates 1.
pub fn fsa_rating(hygiene: u32, structure: u32, management: u32) -> Result<u8, DomainError> {
    let check = |element: &str, label: &str, score: u32, allowed: &[u32]| {
        if allowed.contains(&score) {
            Ok(())
        } else {
            Err(DomainError::InvalidAnswer {
                item: element.to_string(),
                label: label.to_string(),
                reason: format!(
                    "{score} is not an FSA score for this element: choose one of {}",
                    list(allowed)
                ),
            })
        }
    };
    check(
        "hygiene",
        "Hygienic food handling",
        hygiene,
        &FSA_HYGIENE_SCORES,
    )?;
    check(
        "structure",
        "Structure and cleaning",
        structure,
        &FSA_STRUCTURE_SCORES,
    )?;
    check(
        "management",
        "Confidence in management",
        management,
        &FSA_MANAGEMENT_SCORES,
    )?;
    let by_total = match hygiene + structure + management {
        0..=15 => 5,
        16..=20 => 4,
        21..=30 => 3,
        31..=40 => 2,
        41..=50 => 1,
        _ => 0,
    };
    let by_worst_element = match hygiene.max(structure).max(management) {
        0..=5 => 5,
        6..=10 => 4, // 4 and 3 both allow elements up to 10
        11..=15 => 2,
        16..=20 => 1,
        _ => 0,
    };
    Ok(by_total.min(by_worst_element))
}

/// The templates shipped with the app, parsed and validated once.
///
/// # Panics
/// If a shipped template is invalid, which the tests rule out.
pub fn builtin_templates() -> &'static [Template] {
    static BUILTIN: OnceLock<Vec<Template>> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        BUILTIN_JSON
            .iter()
            .map(|json| {
                Template::from_json(json)
                    .unwrap_or_else(|e| panic!("a built-in template is invalid: {e}"))
            })
            .collect()
    })
}

/// The built-in template with this id and version.
pub fn find_template(id: &str, version: u32) -> Result<&'static Template, DomainError> {
    builtin_templates()
        .iter()
        .find(|t| t.id == id && t.version == version)
        .ok_or_else(|| DomainError::UnknownTemplate {
            id: id.to_string(),
            version,
        })
}

/// The newest version of the built-in template with this id. An unknown id is
/// [`DomainError::UnknownTemplate`] with version 0.
pub fn latest_template(id: &str) -> Result<&'static Template, DomainError> {
    builtin_templates()
        .iter()
        .filter(|t| t.id == id)
        .max_by_key(|t| t.version)
        .ok_or_else(|| DomainError::UnknownTemplate {
            id: id.to_string(),
            version: 0,
        })
}

/// The template a new visit on a case of this kind starts with: the newest built-in template
/// made for the kind (`food_hygiene` gets the food hygiene inspection, `housing` the HHSRS
/// housing hazard survey), otherwise the newest general visit.
pub fn default_template_for(kind_code: &str) -> &'static Template {
    builtin_templates()
        .iter()
        .filter(|t| t.case_kinds.iter().any(|k| k == kind_code))
        .max_by_key(|t| t.version)
        .or_else(|| latest_template(GENERAL_VISIT).ok())
        .unwrap_or_else(|| panic!("the built-in templates include '{GENERAL_VISIT}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    // ---- helpers ----

    /// A small valid template, as JSON, for the refusal tests to break.
    fn base() -> Value {
        json!({
            "schema": 1,
            "id": "test-template",
            "version": 1,
            "title": "Test",
            "description": "For tests",
            "case_kinds": ["food_hygiene"],
            "sections": [
                {
                    "id": "first",
                    "title": "First",
                    "items": [
                        { "id": "yn", "label": "Yes or no", "required": true, "kind": { "type": "yes_no" } },
                        { "id": "pick", "label": "Pick one", "required": true, "kind": { "type": "choice", "options": [
                            { "value": "a", "label": "Apple" },
                            { "value": "b", "label": "Banana" }
                        ] } },
                        { "id": "count", "label": "How many", "required": false,
                          "kind": { "type": "number", "min": 0, "max": 10, "unit": "people", "integer": true } },
                        { "id": "ratio", "label": "Ratio", "required": false,
                          "kind": { "type": "number", "min": -1.5, "max": 1.5 } },
                        { "id": "notes", "label": "Notes", "hint": "Anything else", "required": false,
                          "kind": { "type": "text", "max_len": 5, "multiline": true } },
                        { "id": "when", "label": "When", "required": false, "kind": { "type": "date" } }
                    ]
                },
                {
                    "id": "scores",
                    "title": "Scores",
                    "items": [
                        { "id": "s.h", "label": "Hygiene", "required": true, "kind": { "type": "score", "options": [0, 5, 10, 15, 20, 25] } },
                        { "id": "s.s", "label": "Structure", "required": true, "kind": { "type": "score", "options": [0, 5, 10, 15, 20, 25] } },
                        { "id": "s.m", "label": "Management", "required": true, "kind": { "type": "score", "options": [0, 5, 10, 20, 30] } }
                    ]
                }
            ],
            "scoring": { "rule": "fsa_fhrs", "hygiene": "s.h", "structure": "s.s", "management": "s.m" }
        })
    }

    fn load(value: &Value) -> Result<Template, DomainError> {
        Template::from_json(&value.to_string())
    }

    fn base_template() -> Template {
        load(&base()).expect("the base test template is valid")
    }

    /// Applies `change` to the base template and asserts it is refused with a reason that
    /// mentions `mention`.
    #[track_caller]
    fn refused(change: impl FnOnce(&mut Value), mention: &str) -> String {
        let mut value = base();
        change(&mut value);
        refused_json(&value.to_string(), mention)
    }

    #[track_caller]
    fn refused_json(json: &str, mention: &str) -> String {
        match Template::from_json(json) {
            Err(DomainError::InvalidTemplate(reason)) => {
                assert!(
                    reason.contains(mention),
                    "reason {reason:?} should mention {mention:?}"
                );
                reason
            }
            other => panic!("expected InvalidTemplate mentioning {mention:?}, got {other:?}"),
        }
    }

    fn at<'a>(value: &'a mut Value, pointer: &str) -> &'a mut Value {
        value
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer} in the base template"))
    }

    fn item_kind(value: &mut Value, section: usize, item: usize) -> &mut Value {
        at(value, &format!("/sections/{section}/items/{item}/kind"))
    }

    #[track_caller]
    fn bad_answer(result: Result<impl std::fmt::Debug, DomainError>, item: &str, mention: &str) {
        match result {
            Err(DomainError::InvalidAnswer {
                item: got, reason, ..
            }) => {
                assert_eq!(got, item);
                assert!(
                    reason.contains(mention),
                    "reason {reason:?} should mention {mention:?}"
                );
            }
            other => panic!("expected InvalidAnswer for {item}, got {other:?}"),
        }
    }

    // ---- shipped templates ----

    #[test]
    fn shipped_templates_load() {
        for json in BUILTIN_JSON {
            Template::from_json(json).expect("shipped template is valid");
        }
        let all = builtin_templates();
        assert_eq!(all.len(), BUILTIN_JSON.len());
        let ids: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, [GENERAL_VISIT, FOOD_HYGIENE, HHSRS_SURVEY]);
        let mut keys: Vec<_> = all.iter().map(|t| (t.id.as_str(), t.version)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            all.len(),
            "no two built-ins share an id and version"
        );
    }

    #[test]
    fn general_visit_template_shape() {
        let t = find_template(GENERAL_VISIT, 1).expect("general visit v1");
        assert_eq!(t.title, "General visit");
        assert!(t.case_kinds.is_empty());
        assert!(t.applies_to("housing") && t.applies_to("food_hygiene"));
        assert!(t.scoring.is_none());
        assert_eq!(t.items().count(), 10);
        let minutes = t.item("minutes_on_site").expect("minutes item");
        assert_eq!(
            minutes.kind,
            ItemKind::Number {
                min: 0.0,
                max: 1440.0,
                unit: Some("minutes".to_string()),
                integer: true
            }
        );
        let required: Vec<&str> = t
            .missing_required(|_| false)
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(
            required,
            [
                "visit_type",
                "access_gained",
                "summary",
                "hazards_observed",
                "follow_up_needed",
                "action"
            ]
        );
        assert_eq!(t.score(|_| Some(AnswerValue::Score(0))), None);
    }

    #[test]
    fn food_hygiene_template_shape() {
        let t = find_template(FOOD_HYGIENE, 1).expect("food hygiene v1");
        assert_eq!(t.title, "Food hygiene inspection");
        assert!(t.applies_to("food_hygiene"));
        assert!(!t.applies_to("housing"));
        let section_titles: Vec<&str> = t.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            section_titles,
            [
                "Premises",
                "Hygienic food handling",
                "Structure and cleaning",
                "Confidence in management",
                "Outcome"
            ]
        );
        assert_eq!(
            t.scoring,
            Some(ScoringRule::FsaFhrs {
                hygiene: "fh.hygiene".into(),
                structure: "fh.structure".into(),
                management: "fh.management".into()
            })
        );
        for id in ["fh.hygiene", "fh.structure", "fh.management"] {
            assert!(t.item(id).expect("score element").required, "{id}");
        }
        assert_eq!(
            t.parse_answer("fh.business_type", "takeaway or sandwich shop"),
            Ok(AnswerValue::Choice("takeaway".into()))
        );
    }

    /// The 29 HHSRS hazards by group, named exactly as in DOMAIN.md ("Housing (HHSRS, ...)").
    const HHSRS_HAZARDS: [(&str, &[&str]); 4] = [
        (
            "Physiological",
            &[
                "damp and mould",
                "excess cold",
                "excess heat",
                "asbestos and MMF",
                "biocides",
                "carbon monoxide and fuel combustion products",
                "lead",
                "radiation",
                "uncombusted fuel gas",
                "volatile organic compounds",
            ],
        ),
        (
            "Psychological",
            &[
                "crowding and space",
                "entry by intruders",
                "lighting",
                "noise",
            ],
        ),
        (
            "Infection",
            &[
                "domestic hygiene, pests and refuse",
                "food safety",
                "personal hygiene, sanitation and drainage",
                "water supply",
            ],
        ),
        (
            "Safety",
            &[
                "falls associated with baths",
                "falls on the level",
                "falls on stairs",
                "falls between levels",
                "electrical hazards",
                "fire",
                "flames and hot surfaces",
                "collision and entrapment",
                "explosions",
                "position and operability of amenities",
                "structural collapse and falling elements",
            ],
        ),
    ];

    /// The HHSRS survey's hazard sections: all but the first ("The dwelling") and the last
    /// ("Outcome").
    fn hhsrs_hazard_sections(t: &Template) -> &[Section] {
        &t.sections[1..t.sections.len() - 1]
    }

    fn hhsrs_hazard_items(t: &Template) -> Vec<&Item> {
        hhsrs_hazard_sections(t)
            .iter()
            .flat_map(|s| s.items.iter())
            .collect()
    }

    /// "damp and mould" -> "Damp and mould": DOMAIN.md's name as a label.
    fn sentence_case(name: &str) -> String {
        let mut chars = name.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }

    #[test]
    fn hhsrs_survey_template_shape() {
        let t = find_template(HHSRS_SURVEY, 1).expect("hhsrs survey v1");
        assert_eq!(t.title, "Housing hazard survey (HHSRS)");
        assert!(
            t.description
                .as_deref()
                .is_some_and(|d| !d.trim().is_empty())
        );
        assert_eq!(t.case_kinds, ["housing"]);
        assert!(t.applies_to("housing"));
        assert!(!t.applies_to("food_hygiene"));
        assert!(t.scoring.is_none());
        assert_eq!(t.score(|_| Some(AnswerValue::Score(0))), None);
        let section_titles: Vec<&str> = t.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            section_titles,
            [
                "The dwelling",
                "Physiological hazards",
                "Psychological hazards",
                "Infection hazards",
                "Safety hazards",
                "Outcome"
            ]
        );
        assert_eq!(t.items().count(), 4 + 29 + 2);
        assert!(t.items().all(|i| i.id.starts_with("hhsrs.")), "one prefix");
        assert_eq!(
            t.item("hhsrs.occupants").map(|i| &i.kind),
            Some(&ItemKind::Number {
                min: 0.0,
                max: 50.0,
                unit: Some("people".into()),
                integer: true
            })
        );
        assert_eq!(
            t.item("hhsrs.summary").map(|i| &i.kind),
            Some(&ItemKind::Text {
                max_len: 5000,
                multiline: true
            })
        );
        assert!(
            t.item("hhsrs.vulnerable_occupant")
                .and_then(|i| i.hint.as_deref())
                .is_some_and(|h| h.contains("age group")),
            "the vulnerable occupant question explains the HHSRS age groups"
        );
        let values = |id: &str| match t.item(id).map(|i| &i.kind) {
            Some(ItemKind::Choice { options }) => {
                options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>()
            }
            other => panic!("{id} should be a choice, is {other:?}"),
        };
        assert_eq!(
            values("hhsrs.dwelling_type"),
            ["house", "flat", "hmo", "bedsit", "other"]
        );
        assert_eq!(
            values("hhsrs.further_action"),
            [
                "none",
                "informal_action",
                "improvement_notice",
                "hazard_awareness_notice",
                "prohibition_order",
                "emergency_remedial_action"
            ]
        );
    }

    #[test]
    fn hhsrs_survey_lists_the_29_hazards_by_group() {
        let t = find_template(HHSRS_SURVEY, 1).expect("hhsrs survey v1");
        let hazards = hhsrs_hazard_items(t);
        assert_eq!(hazards.len(), 29);
        let sections = hhsrs_hazard_sections(t);
        assert_eq!(sections.len(), HHSRS_HAZARDS.len());
        for (section, (group, names)) in sections.iter().zip(HHSRS_HAZARDS) {
            assert_eq!(section.title, format!("{group} hazards"));
            let labels: Vec<&str> = section.items.iter().map(|i| i.label.as_str()).collect();
            let expected: Vec<String> = names.iter().map(|n| sentence_case(n)).collect();
            assert_eq!(labels, expected, "{group}");
        }
        let screening = [
            ("none", "No hazard found"),
            ("minor", "Hazard present, not significant"),
            ("significant", "Significant hazard: score it"),
        ];
        for item in &hazards {
            assert!(item.required, "{} is required", item.id);
            assert!(item.id.starts_with("hhsrs."), "{}", item.id);
            assert!(item.hint.is_some(), "{} has a hint", item.id);
            let ItemKind::Choice { options } = &item.kind else {
                panic!("{} should be a choice", item.id);
            };
            let got: Vec<(&str, &str)> = options
                .iter()
                .map(|o| (o.value.as_str(), o.label.as_str()))
                .collect();
            assert_eq!(got, screening, "{}", item.id);
        }
        for id in ["hhsrs.damp_mould", "hhsrs.excess_cold", "hhsrs.fire"] {
            assert!(hazards.iter().any(|i| i.id == id), "{id}");
        }
    }

    #[test]
    fn hhsrs_survey_required_items_for_an_empty_visit() {
        let t = default_template_for("housing");
        assert_eq!(t.id, HHSRS_SURVEY);
        let missing: Vec<&str> = t
            .missing_required(|_| false)
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        let mut expected = vec!["hhsrs.dwelling_type", "hhsrs.occupied"];
        expected.extend(hhsrs_hazard_items(t).iter().map(|i| i.id.as_str()));
        expected.extend(["hhsrs.summary", "hhsrs.further_action"]);
        assert_eq!(missing, expected);
        assert_eq!(missing.len(), 33);
        for optional in ["hhsrs.occupants", "hhsrs.vulnerable_occupant"] {
            assert!(!missing.contains(&optional), "{optional} is optional");
        }
        assert!(t.missing_required(|_| true).is_empty());
    }

    #[test]
    fn hhsrs_survey_parses_hazard_answers() {
        let t = find_template(HHSRS_SURVEY, 1).expect("hhsrs survey v1");
        for item in hhsrs_hazard_items(t) {
            let id = item.id.as_str();
            for (input, value) in [
                ("significant", "significant"),
                (" SIGNIFICANT ", "significant"),
                ("Significant hazard: score it", "significant"),
                ("significant HAZARD: SCORE IT", "significant"),
                ("none", "none"),
                ("no hazard found", "none"),
                ("Minor", "minor"),
                ("HAZARD PRESENT, NOT SIGNIFICANT", "minor"),
            ] {
                assert_eq!(
                    t.parse_answer(id, input),
                    Ok(AnswerValue::Choice(value.into())),
                    "{id}: {input:?}"
                );
            }
            bad_answer(
                t.parse_answer(id, "serious"),
                id,
                "'serious' is not an option",
            );
        }
        assert_eq!(
            t.display_answer(
                "hhsrs.damp_mould",
                &AnswerValue::Choice("significant".into())
            ),
            "Significant hazard: score it"
        );
        assert_eq!(
            t.parse_answer("hhsrs.dwelling_type", "house in multiple occupation (hmo)"),
            Ok(AnswerValue::Choice("hmo".into()))
        );
        assert_eq!(
            t.parse_answer("hhsrs.further_action", "Improvement notice"),
            Ok(AnswerValue::Choice("improvement_notice".into()))
        );
        assert_eq!(
            t.parse_answer("hhsrs.occupants", "3"),
            Ok(AnswerValue::Number(3.0))
        );
        bad_answer(
            t.parse_answer("hhsrs.occupants", "51"),
            "hhsrs.occupants",
            "a whole number from 0 to 50 people",
        );
        bad_answer(
            t.parse_answer("hhsrs.occupants", "2.5"),
            "hhsrs.occupants",
            "not a whole number",
        );
        bad_answer(
            t.parse_answer("hhsrs.summary", &"x".repeat(5001)),
            "hhsrs.summary",
            "5000 characters or fewer",
        );
    }

    #[test]
    fn template_lookup() {
        assert_eq!(latest_template(FOOD_HYGIENE).map(|t| t.version), Ok(1));
        assert_eq!(
            find_template(FOOD_HYGIENE, 2),
            Err(DomainError::UnknownTemplate {
                id: FOOD_HYGIENE.into(),
                version: 2
            })
        );
        assert_eq!(
            latest_template("nope"),
            Err(DomainError::UnknownTemplate {
                id: "nope".into(),
                version: 0
            })
        );
        assert_eq!(default_template_for("food_hygiene").id, FOOD_HYGIENE);
        assert_eq!(latest_template(HHSRS_SURVEY).map(|t| t.version), Ok(1));
        let housing = default_template_for("housing");
        assert_eq!((housing.id.as_str(), housing.version), (HHSRS_SURVEY, 1));
        for kind in [
            "highways",
            "fly_tipping",
            "enforcement",
            "general",
            "unheard_of",
        ] {
            assert_eq!(default_template_for(kind).id, GENERAL_VISIT, "{kind}");
        }
    }

    #[test]
    fn items_item_and_missing_required() {
        let t = base_template();
        let ids: Vec<&str> = t.items().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "yn", "pick", "count", "ratio", "notes", "when", "s.h", "s.s", "s.m"
            ]
        );
        assert_eq!(
            t.item("notes").and_then(|i| i.hint.as_deref()),
            Some("Anything else")
        );
        assert!(t.item("missing").is_none());
        let missing: Vec<&str> = t
            .missing_required(|id| id == "pick" || id == "s.s")
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(missing, ["yn", "s.h", "s.m"]);
        assert!(t.missing_required(|_| true).is_empty());
    }

    // ---- refusals on load ----

    #[test]
    fn refuses_empty_template_id_and_title() {
        refused(|v| v["id"] = json!(""), "template id '' is empty");
        refused(
            |v| v["title"] = json!("  "),
            "template 'test-template' has an empty title",
        );
    }

    #[test]
    fn refuses_version_zero() {
        refused(|v| v["version"] = json!(0), "'test-template' has version 0");
    }

    #[test]
    fn refuses_no_sections() {
        refused(
            |v| v["sections"] = json!([]),
            "template 'test-template' has no sections",
        );
    }

    #[test]
    fn refuses_empty_section() {
        refused(
            |v| *at(v, "/sections/1/items") = json!([]),
            "section 'scores' has no items",
        );
    }

    #[test]
    fn refuses_empty_section_title_and_item_label() {
        refused(
            |v| *at(v, "/sections/0/title") = json!(""),
            "section 'first' has an empty title",
        );
        refused(
            |v| *at(v, "/sections/0/items/0/label") = json!(" "),
            "item 'yn' has an empty label",
        );
    }

    #[test]
    fn refuses_duplicate_section_ids() {
        refused(
            |v| *at(v, "/sections/1/id") = json!("first"),
            "section id 'first' is used twice",
        );
    }

    #[test]
    fn refuses_duplicate_item_ids_across_sections() {
        let reason = refused(
            |v| *at(v, "/sections/1/items/0/id") = json!("yn"),
            "item id 'yn' is used twice",
        );
        assert!(
            reason.contains("'first'") && reason.contains("'scores'"),
            "{reason}"
        );
        refused(
            |v| *at(v, "/sections/0/items/1/id") = json!("yn"),
            "item id 'yn' is used twice in section 'first'",
        );
    }

    #[test]
    fn refuses_bad_ids() {
        let long = "a".repeat(65);
        for bad in ["Yes", "has space", "has-hyphen", "é", long.as_str()] {
            refused(
                |v| *at(v, "/sections/0/items/0/id") = json!(bad),
                &format!("item id '{bad}'"),
            );
            refused(
                |v| *at(v, "/sections/0/id") = json!(bad),
                &format!("section id '{bad}'"),
            );
        }
        refused(
            |v| *at(v, "/sections/0/items/0/id") = json!(""),
            "section 'first': item id '' is empty",
        );
        refused(|v| v["id"] = json!("Test"), "template id 'Test'");
        refused(|v| v["id"] = json!(long), "longer than 64");
        refused(
            |v| v["case_kinds"] = json!(["Food Hygiene"]),
            "case kind 'Food Hygiene'",
        );
        refused(
            |v| v["case_kinds"] = json!(["housing", "housing"]),
            "case kind 'housing' twice",
        );
        // The longest allowed id, and every allowed character, are accepted.
        let mut v = base();
        *at(&mut v, "/sections/0/items/0/id") = json!("a".repeat(64));
        *at(&mut v, "/sections/0/items/1/id") = json!("az09_.x");
        load(&v).expect("64-character and dotted ids are fine");
    }

    #[test]
    fn refuses_choice_with_too_few_or_duplicate_options() {
        refused(
            |v| item_kind(v, 0, 1)["options"] = json!([{ "value": "a", "label": "Apple" }]),
            "choice item 'pick' needs at least 2 options (it has 1)",
        );
        refused(
            |v| item_kind(v, 0, 1)["options"] = json!([]),
            "choice item 'pick' needs at least 2",
        );
        refused(
            |v| {
                item_kind(v, 0, 1)["options"] = json!([{ "value": "a", "label": "Apple" }, { "value": "a", "label": "Avocado" }])
            },
            "choice item 'pick' has the value 'a' twice",
        );
        refused(
            |v| {
                item_kind(v, 0, 1)["options"] =
                    json!([{ "value": "a", "label": "Apple" }, { "value": "b", "label": "APPLE" }])
            },
            "choice item 'pick' has the label 'APPLE' twice",
        );
        refused(
            |v| {
                item_kind(v, 0, 1)["options"] =
                    json!([{ "value": "A", "label": "Apple" }, { "value": "b", "label": "Banana" }])
            },
            "choice item 'pick': option value 'A'",
        );
        refused(
            |v| {
                item_kind(v, 0, 1)["options"] =
                    json!([{ "value": "a", "label": "" }, { "value": "b", "label": "Banana" }])
            },
            "choice item 'pick' has an empty label for value 'a'",
        );
    }

    #[test]
    fn refuses_number_with_min_above_max() {
        refused(
            |v| item_kind(v, 0, 2)["min"] = json!(11),
            "number item 'count' has min 11 greater than max 10",
        );
        let mut v = base();
        item_kind(&mut v, 0, 2)["min"] = json!(10);
        load(&v).expect("min equal to max is allowed");
    }

    #[test]
    fn refuses_non_finite_number_bounds() {
        // JSON has no infinities: serde_json refuses an overflowing literal, naming where it is.
        let json = base().to_string().replace("\"max\":10", "\"max\":1e999");
        assert!(json.contains("1e999"));
        refused_json(&json, "number out of range at line 1");
        // A template made some other way is checked too.
        for (min, max) in [
            (f64::NEG_INFINITY, 1.0),
            (0.0, f64::INFINITY),
            (f64::NAN, 1.0),
        ] {
            let mut t = base_template();
            t.sections[0].items[2].kind = ItemKind::Number {
                min,
                max,
                unit: None,
                integer: false,
            };
            match t.validate() {
                Err(DomainError::InvalidTemplate(reason)) => {
                    assert!(
                        reason.contains("number item 'count'") && reason.contains("finite"),
                        "{reason}"
                    )
                }
                other => panic!("expected InvalidTemplate, got {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_text_max_len_out_of_range() {
        refused(
            |v| item_kind(v, 0, 4)["max_len"] = json!(0),
            "text item 'notes' has max_len 0",
        );
        refused(
            |v| item_kind(v, 0, 4)["max_len"] = json!(10_001),
            "text item 'notes' has max_len 10001",
        );
        let mut v = base();
        item_kind(&mut v, 0, 4)["max_len"] = json!(10_000);
        load(&v).expect("max_len 10000 is allowed");
    }

    #[test]
    fn refuses_bad_score_options() {
        refused(
            |v| *at(v, "/sections/1/items/0/kind/options") = json!([]),
            "score item 's.h' has no options",
        );
        refused(
            |v| *at(v, "/sections/1/items/0/kind/options") = json!([0, 10, 5]),
            "score item 's.h' has options 0, 10, 5",
        );
        refused(
            |v| *at(v, "/sections/1/items/0/kind/options") = json!([0, 5, 5]),
            "score item 's.h' has options 0, 5, 5",
        );
        refused(
            |v| *at(v, "/sections/1/items/0/kind/options") = json!([-5, 0]),
            "line 1",
        );
    }

    #[test]
    fn refuses_scoring_rule_naming_missing_items() {
        refused(
            |v| v["scoring"]["management"] = json!("s.x"),
            "names item 's.x' as its management element",
        );
    }

    #[test]
    fn refuses_scoring_rule_naming_non_score_items() {
        refused(
            |v| v["scoring"]["hygiene"] = json!("count"),
            "hygiene element 'count' is a number item, not a score item",
        );
    }

    #[test]
    fn refuses_scoring_rule_with_non_fsa_options() {
        refused(
            |v| *at(v, "/sections/1/items/2/kind/options") = json!([0, 5, 10, 15, 20, 25]),
            "score item 's.m' (management element",
        );
        refused(
            |v| *at(v, "/sections/1/items/0/kind/options") = json!([0, 5, 10]),
            "score item 's.h' (hygiene element",
        );
        refused(
            |v| v["scoring"]["structure"] = json!("s.h"),
            "uses item 's.h' for more than one element",
        );
    }

    #[test]
    fn refuses_unknown_fields_at_every_level() {
        refused(|v| v["colour"] = json!("red"), "unknown field `colour`");
        refused(
            |v| at(v, "/sections/0")["colour"] = json!("red"),
            "unknown field `colour`",
        );
        refused(
            |v| at(v, "/sections/0/items/0")["colour"] = json!("red"),
            "unknown field `colour`",
        );
        refused(
            |v| item_kind(v, 0, 2)["colour"] = json!("red"),
            "unknown field `colour`",
        );
        refused(|v| item_kind(v, 0, 0)["colour"] = json!("red"), "colour");
        refused(|v| item_kind(v, 0, 5)["colour"] = json!("red"), "colour");
        refused(
            |v| at(v, "/sections/0/items/1/kind/options/0")["colour"] = json!("red"),
            "unknown field `colour`",
        );
        refused(
            |v| v["scoring"]["colour"] = json!("red"),
            "unknown field `colour`",
        );
        refused(
            |v| item_kind(v, 0, 0)["type"] = json!("slider"),
            "unknown variant `slider`",
        );
        refused(
            |v| v["scoring"]["rule"] = json!("hhsrs"),
            "unknown variant `hhsrs`",
        );
        refused(
            |v| {
                at(v, "/sections/0/items/0")
                    .as_object_mut()
                    .map(|o| o.remove("required"))
                    .map(|_| ())
                    .unwrap_or(())
            },
            "missing field `required`",
        );
    }

    #[test]
    fn refuses_other_schemas_and_bad_json() {
        refused(|v| v["schema"] = json!(2), "schema 2");
        // A newer schema is refused for its number, not for the fields this build does not know.
        refused(
            |v| {
                v["schema"] = json!(2);
                v["new_thing"] = json!(true)
            },
            "schema 2",
        );
        refused(|v| v["schema"] = json!("1"), "schema \"1\"");
        refused(
            |v| {
                v.as_object_mut().map(|o| o.remove("schema"));
            },
            "no \"schema\"",
        );
        refused_json("[1, 2]", "must be a JSON object");
        refused_json("{\"schema\": 1, ", "not valid JSON: EOF while parsing");
        refused_json("", "not valid JSON");
    }

    // ---- answers ----

    #[test]
    fn parses_yes_no() {
        let t = base_template();
        for yes in ["yes", "Y", " TRUE ", "Yes"] {
            assert_eq!(
                t.parse_answer("yn", yes),
                Ok(AnswerValue::YesNo(true)),
                "{yes}"
            );
        }
        for no in ["no", "N", "False", "NO "] {
            assert_eq!(
                t.parse_answer("yn", no),
                Ok(AnswerValue::YesNo(false)),
                "{no}"
            );
        }
        for bad in ["", "maybe", "1", "yess"] {
            bad_answer(t.parse_answer("yn", bad), "yn", "yes or no");
        }
    }

    #[test]
    fn parses_choices_by_value_or_label() {
        let t = base_template();
        for input in ["a", "A", "apple", " APPLE "] {
            assert_eq!(
                t.parse_answer("pick", input),
                Ok(AnswerValue::Choice("a".into())),
                "{input}"
            );
        }
        assert_eq!(
            t.parse_answer("pick", "Banana"),
            Ok(AnswerValue::Choice("b".into()))
        );
        bad_answer(
            t.parse_answer("pick", "cherry"),
            "pick",
            "'cherry' is not an option",
        );
        bad_answer(
            t.parse_answer("pick", ""),
            "pick",
            "choose one of: Apple, Banana",
        );
        bad_answer(
            t.validate_answer("pick", &AnswerValue::Choice("c".into())),
            "pick",
            "'c' is not an option",
        );
        bad_answer(
            t.validate_answer("pick", &AnswerValue::Choice("Apple".into())),
            "pick",
            "not an option",
        );
        assert_eq!(
            t.validate_answer("pick", &AnswerValue::Choice("b".into())),
            Ok(())
        );
    }

    #[test]
    fn parses_numbers_in_range() {
        let t = base_template();
        assert_eq!(t.parse_answer("count", "7"), Ok(AnswerValue::Number(7.0)));
        assert_eq!(t.parse_answer("count", " 0 "), Ok(AnswerValue::Number(0.0)));
        assert_eq!(t.parse_answer("count", "10"), Ok(AnswerValue::Number(10.0)));
        assert_eq!(t.parse_answer("count", "7.0"), Ok(AnswerValue::Number(7.0)));
        assert_eq!(
            t.parse_answer("ratio", "-1.5"),
            Ok(AnswerValue::Number(-1.5))
        );
        assert_eq!(
            t.parse_answer("ratio", "0.25"),
            Ok(AnswerValue::Number(0.25))
        );
        bad_answer(
            t.parse_answer("count", "11"),
            "count",
            "a whole number from 0 to 10 people",
        );
        bad_answer(t.parse_answer("count", "-1"), "count", "from 0 to 10");
        bad_answer(
            t.parse_answer("count", "2.5"),
            "count",
            "2.5 is not a whole number",
        );
        bad_answer(
            t.parse_answer("ratio", "1.6"),
            "ratio",
            "must be a number from -1.5 to 1.5",
        );
        for bad in ["", "seven", "1,5", "NaN", "inf", "-infinity", "3 people"] {
            bad_answer(t.parse_answer("count", bad), "count", "enter a number");
        }
        bad_answer(
            t.validate_answer("ratio", &AnswerValue::Number(f64::NAN)),
            "ratio",
            "must be a number",
        );
        bad_answer(
            t.validate_answer("ratio", &AnswerValue::Number(f64::INFINITY)),
            "ratio",
            "must be a number",
        );
        assert_eq!(
            t.validate_answer("ratio", &AnswerValue::Number(1.5)),
            Ok(())
        );
    }

    #[test]
    fn parses_text_within_limits() {
        let t = base_template();
        assert_eq!(
            t.parse_answer("notes", " hello "),
            Ok(AnswerValue::Text("hello".into()))
        );
        // Length is counted in characters, not bytes.
        assert_eq!(
            t.parse_answer("notes", "ééééé"),
            Ok(AnswerValue::Text("ééééé".into()))
        );
        bad_answer(
            t.parse_answer("notes", "toolong"),
            "notes",
            "5 characters or fewer (it has 7)",
        );
        bad_answer(t.parse_answer("notes", "   "), "notes", "enter some text");
        bad_answer(
            t.validate_answer("notes", &AnswerValue::Text("\n\t".into())),
            "notes",
            "enter some text",
        );
        bad_answer(
            t.validate_answer("notes", &AnswerValue::Text("".into())),
            "notes",
            "enter some text",
        );
        assert_eq!(
            t.validate_answer("notes", &AnswerValue::Text("a\nb".into())),
            Ok(())
        );
    }

    #[test]
    fn parses_dates() {
        let t = base_template();
        let date: Date = "2026-03-31".parse().expect("a date");
        assert_eq!(
            t.parse_answer("when", " 2026-03-31 "),
            Ok(AnswerValue::Date(date))
        );
        for bad in ["", "31/03/2026", "2026-02-30", "tomorrow", "2026-3-31"] {
            bad_answer(t.parse_answer("when", bad), "when", "YYYY-MM-DD");
        }
        assert_eq!(t.validate_answer("when", &AnswerValue::Date(date)), Ok(()));
    }

    #[test]
    fn parses_scores_from_options() {
        let t = base_template();
        assert_eq!(t.parse_answer("s.h", "15"), Ok(AnswerValue::Score(15)));
        assert_eq!(t.parse_answer("s.m", " 30"), Ok(AnswerValue::Score(30)));
        bad_answer(
            t.parse_answer("s.m", "15"),
            "s.m",
            "15 is not an allowed score: choose one of 0, 5, 10, 20, 30",
        );
        bad_answer(
            t.parse_answer("s.h", "7"),
            "s.h",
            "7 is not an allowed score",
        );
        for bad in ["", "five", "5.0", "-5"] {
            bad_answer(
                t.parse_answer("s.h", bad),
                "s.h",
                "enter a score, one of 0, 5, 10, 15, 20, 25",
            );
        }
        bad_answer(
            t.validate_answer("s.h", &AnswerValue::Score(30)),
            "s.h",
            "not an allowed score",
        );
    }

    #[test]
    fn refuses_answers_of_the_wrong_kind() {
        let t = base_template();
        let date: Date = "2026-03-31".parse().expect("a date");
        let cases = [
            (
                "yn",
                AnswerValue::Text("yes".into()),
                "expected a yes or no answer, not text",
            ),
            (
                "pick",
                AnswerValue::YesNo(true),
                "expected a choice, not a yes or no answer",
            ),
            (
                "count",
                AnswerValue::Score(5),
                "expected a number, not a score",
            ),
            (
                "notes",
                AnswerValue::Number(1.0),
                "expected text, not a number",
            ),
            (
                "when",
                AnswerValue::Text("2026-03-31".into()),
                "expected a date, not text",
            ),
            (
                "s.h",
                AnswerValue::Number(5.0),
                "expected a score, not a number",
            ),
            (
                "s.h",
                AnswerValue::Date(date),
                "expected a score, not a date",
            ),
            (
                "count",
                AnswerValue::Choice("a".into()),
                "expected a number, not a choice",
            ),
        ];
        for (item, value, mention) in cases {
            bad_answer(t.validate_answer(item, &value), item, mention);
        }
    }

    #[test]
    fn unknown_items_are_refused() {
        let t = base_template();
        let unknown = Err(DomainError::UnknownItem {
            template: "test-template".into(),
            item: "nope".into(),
        });
        assert_eq!(t.parse_answer("nope", "yes"), unknown.clone());
        assert_eq!(
            t.validate_answer("nope", &AnswerValue::YesNo(true)),
            unknown.map(|_: AnswerValue| ())
        );
    }

    #[test]
    fn answer_errors_carry_the_label() {
        let t = base_template();
        let err = t.parse_answer("count", "11").expect_err("out of range");
        assert_eq!(err.code(), "invalid_answer");
        assert_eq!(
            err.to_string(),
            "How many: must be a whole number from 0 to 10 people"
        );
    }

    #[test]
    fn answer_values_display_and_kind_codes() {
        let date: Date = "2026-03-31".parse().expect("a date");
        let cases = [
            (AnswerValue::YesNo(true), "Yes", "yes_no"),
            (AnswerValue::YesNo(false), "No", "yes_no"),
            (
                AnswerValue::Choice("follow_up".into()),
                "follow_up",
                "choice",
            ),
            (AnswerValue::Number(45.0), "45", "number"),
            (AnswerValue::Number(-0.0), "0", "number"),
            (AnswerValue::Number(2.5), "2.5", "number"),
            (AnswerValue::Number(1e6), "1000000", "number"),
            (
                AnswerValue::Text("Kitchen clean".into()),
                "Kitchen clean",
                "text",
            ),
            (AnswerValue::Date(date), "2026-03-31", "date"),
            (AnswerValue::Score(15), "15", "score"),
        ];
        for (value, display, code) in cases {
            assert_eq!(value.display(), display);
            assert_eq!(value.kind_code(), code);
        }
        let kinds = [
            ItemKind::YesNo,
            ItemKind::Choice { options: vec![] },
            ItemKind::Number {
                min: 0.0,
                max: 1.0,
                unit: None,
                integer: false,
            },
            ItemKind::Text {
                max_len: 1,
                multiline: false,
            },
            ItemKind::Date,
            ItemKind::Score { options: vec![] },
        ];
        let codes: Vec<&str> = kinds.iter().map(ItemKind::code).collect();
        assert_eq!(
            codes,
            ["yes_no", "choice", "number", "text", "date", "score"]
        );
    }

    #[test]
    fn display_answer_uses_labels_and_units() {
        let t = base_template();
        assert_eq!(
            t.display_answer("pick", &AnswerValue::Choice("b".into())),
            "Banana"
        );
        assert_eq!(
            t.display_answer("pick", &AnswerValue::Choice("z".into())),
            "z"
        );
        assert_eq!(
            t.display_answer("count", &AnswerValue::Number(3.0)),
            "3 people"
        );
        assert_eq!(t.display_answer("ratio", &AnswerValue::Number(0.5)), "0.5");
        assert_eq!(t.display_answer("yn", &AnswerValue::YesNo(true)), "Yes");
        assert_eq!(t.display_answer("nope", &AnswerValue::Score(5)), "5");
    }

    #[test]
    fn answer_values_round_trip_through_automerge() {
        let date: Date = "2026-03-31".parse().expect("a date");
        let values = [
            AnswerValue::YesNo(true),
            AnswerValue::YesNo(false),
            AnswerValue::Choice("follow_up".into()),
            AnswerValue::Number(45.0),
            AnswerValue::Number(-2.75),
            AnswerValue::Text("Raw chicken stored above salad".into()),
            AnswerValue::Date(date),
            AnswerValue::Score(25),
        ];
        for value in values {
            let mut doc = automerge::AutoCommit::new();
            autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "answer", &value)
                .expect("reconcile");
            let bytes = doc.save();
            let loaded = automerge::AutoCommit::load(&bytes).expect("load");
            let back: AnswerValue =
                autosurgeon::hydrate_prop(&loaded, automerge::ROOT, "answer").expect("hydrate");
            assert_eq!(back, value);
        }
    }

    #[test]
    fn answer_values_are_stored_under_their_kind_code() {
        let mut doc = automerge::AutoCommit::new();
        autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "answer", AnswerValue::Score(5))
            .expect("reconcile");
        let (_, answer) = automerge::ReadDoc::get(&doc, automerge::ROOT, "answer")
            .expect("get")
            .expect("present");
        let keys: Vec<String> = automerge::ReadDoc::keys(&doc, &answer).collect();
        assert_eq!(keys, ["score"]);
    }

    #[test]
    fn numbers_and_scores_written_as_integers_hydrate() {
        use automerge::transaction::Transactable as _;
        let mut doc = automerge::AutoCommit::new();
        let number = doc
            .put_object(automerge::ROOT, "n", automerge::ObjType::Map)
            .expect("map");
        doc.put(&number, "number", 30_i64).expect("put");
        let score = doc
            .put_object(automerge::ROOT, "s", automerge::ObjType::Map)
            .expect("map");
        doc.put(&score, "score", 15_i64).expect("put");
        let bad = doc
            .put_object(automerge::ROOT, "b", automerge::ObjType::Map)
            .expect("map");
        doc.put(&bad, "score", -5_i64).expect("put");
        let n: AnswerValue = autosurgeon::hydrate_prop(&doc, automerge::ROOT, "n").expect("number");
        let s: AnswerValue = autosurgeon::hydrate_prop(&doc, automerge::ROOT, "s").expect("score");
        assert_eq!(n, AnswerValue::Number(30.0));
        assert_eq!(s, AnswerValue::Score(15));
        assert!(
            autosurgeon::hydrate_prop::<_, AnswerValue, _, _>(&doc, automerge::ROOT, "b").is_err()
        );
    }

    // ---- scoring ----

    #[test]
    fn score_needs_all_three_elements() {
        let t = find_template(FOOD_HYGIENE, 1).expect("food hygiene v1");
        let mut answers: HashMap<&str, AnswerValue> = HashMap::new();
        let score = |answers: &HashMap<&str, AnswerValue>| t.score(|id| answers.get(id).cloned());
        assert_eq!(score(&answers), None);
        answers.insert("fh.hygiene", AnswerValue::Score(5));
        assert_eq!(score(&answers), None);
        answers.insert("fh.structure", AnswerValue::Score(5));
        assert_eq!(score(&answers), None);
        // A value of the wrong kind does not count as answered.
        answers.insert("fh.management", AnswerValue::Number(10.0));
        assert_eq!(score(&answers), None);
        answers.insert("fh.management", AnswerValue::Score(10));
        assert_eq!(
            score(&answers),
            Some(ScoreOutcome {
                total: 20,
                rating: 4,
                elements: vec![
                    ("fh.hygiene".into(), 5),
                    ("fh.structure".into(), 5),
                    ("fh.management".into(), 10)
                ],
            })
        );
        // A stored score the FSA does not allow gives no rating rather than a wrong one.
        answers.insert("fh.management", AnswerValue::Score(15));
        assert_eq!(score(&answers), None);
    }

    #[test]
    fn fsa_rating_table() {
        // (hygiene, structure, management, rating)
        let table: &[(u32, u32, u32, u8)] = &[
            // the DOMAIN.md examples
            (5, 5, 10, 4),
            (0, 0, 20, 1),
            (0, 5, 5, 5),
            (25, 25, 30, 0),
            // total bands, each element within the band's cap
            (0, 0, 0, 5),    // total 0: bottom of band 5
            (5, 5, 5, 5),    // total 15: top of band 5
            (10, 5, 5, 4),   // total 20: band 4
            (10, 10, 5, 3),  // total 25: bottom of band 3
            (10, 10, 10, 3), // total 30: top of band 3
            (15, 10, 10, 2), // total 35: bottom of band 2
            (15, 15, 10, 2), // total 40: top of band 2
            (20, 15, 10, 1), // total 45: bottom of band 1
            (20, 20, 10, 1), // total 50: top of band 1
            (20, 15, 20, 0), // total 55: over 50
            (20, 20, 20, 0), // total 60
            // caps: an element above a band's cap pulls the rating down to the band it allows
            (10, 0, 0, 4), // total 10 (band 5), element 10: 4
            (0, 10, 0, 4),
            (0, 0, 10, 4),
            (10, 10, 0, 4), // total 20, elements at the cap of 10: 4
            (15, 0, 0, 2),  // total 15 (band 5), element 15: 2
            (0, 15, 0, 2),
            (15, 5, 0, 2),  // total 20 (band 4), element 15: 2
            (15, 15, 0, 2), // total 30 (band 3), element 15: 2
            (20, 0, 0, 1),  // total 20 (band 4), element 20: 1
            (0, 20, 0, 1),
            (20, 10, 10, 1), // total 40 (band 2), element 20: 1
            (20, 20, 0, 1),
            (25, 0, 0, 0), // an element of 25 or 30: 0 whatever the total
            (0, 25, 0, 0),
            (0, 0, 30, 0),
            (25, 25, 0, 0), // total 50 (band 1), element 25: 0
        ];
        for &(h, s, m, rating) in table {
            assert_eq!(fsa_rating(h, s, m), Ok(rating), "{h}/{s}/{m}");
        }
    }

    #[test]
    fn fsa_rating_refuses_scores_the_scheme_does_not_allow() {
        for (h, s, m, element) in [
            (0, 0, 15, "management"),
            (0, 0, 25, "management"),
            (7, 0, 0, "hygiene"),
            (30, 0, 0, "hygiene"),
            (0, 1, 0, "structure"),
            (0, 30, 0, "structure"),
            (0, 0, 35, "management"),
        ] {
            match fsa_rating(h, s, m) {
                Err(DomainError::InvalidAnswer { item, reason, .. }) => {
                    assert_eq!(item, element, "{h}/{s}/{m}");
                    assert!(reason.contains("not an FSA score"), "{reason}");
                }
                other => panic!("{h}/{s}/{m}: expected a refusal, got {other:?}"),
            }
        }
    }

    fn element_scores(allowed: &'static [u32]) -> impl Strategy<Value = u32> {
        proptest::sample::select(allowed)
    }

    proptest! {
        /// Making any one element worse never raises the rating.
        #[test]
        fn rating_never_improves_when_an_element_gets_worse(
            h in element_scores(&FSA_HYGIENE_SCORES),
            s in element_scores(&FSA_STRUCTURE_SCORES),
            m in element_scores(&FSA_MANAGEMENT_SCORES),
            worse_h in element_scores(&FSA_HYGIENE_SCORES),
            worse_s in element_scores(&FSA_STRUCTURE_SCORES),
            worse_m in element_scores(&FSA_MANAGEMENT_SCORES),
        ) {
            let rating = fsa_rating(h, s, m).expect("allowed scores");
            prop_assert!(rating <= 5);
            if worse_h >= h {
                prop_assert!(fsa_rating(worse_h, s, m).expect("allowed") <= rating);
            }
            if worse_s >= s {
                prop_assert!(fsa_rating(h, worse_s, m).expect("allowed") <= rating);
            }
            if worse_m >= m {
                prop_assert!(fsa_rating(h, s, worse_m).expect("allowed") <= rating);
            }
        }
    }
}
