//! Plain-text rendering of the device API's DTOs for a terminal.

use std::fmt::Write;

use fieldbook_app::{CaseDto, CasePageDto, DeviceDto, HistoryEntryDto, PersonDto, TemplateDto};

fn who(p: &PersonDto) -> &str {
    p.name.as_deref().unwrap_or(&p.id)
}

fn when(rfc3339: &str) -> String {
    // 2026-11-24T09:30:12.345Z -> 2026-11-24 09:30 UTC
    let t = rfc3339.replace('T', " ");
    format!("{} UTC", t.get(..16).unwrap_or(&t))
}

pub fn device(d: &DeviceDto) -> String {
    format!(
        "Device {} (number {})\nUser: {} ({})\nData: {}\nCases: {}\nOffline: {} changes to {} cases waiting to sync",
        d.device_id,
        d.device_number,
        d.person_name,
        d.role,
        d.data_dir,
        d.case_count,
        d.outbox_changes,
        d.outbox_cases
    )
}

pub fn page(p: &CasePageDto) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<16} {:<12} {:<10} {:<16} TITLE",
        "REFERENCE", "STATUS", "DUE", "KIND"
    );
    for c in &p.cases {
        let _ = writeln!(
            s,
            "{:<16} {:<12} {:<10} {:<16} {}",
            c.reference,
            c.status_label,
            c.due.as_deref().unwrap_or("-"),
            c.kind_label,
            c.title
        );
    }
    let last = u64::from(p.offset) + p.cases.len() as u64;
    let _ = write!(
        s,
        "{}-{} of {} cases",
        if p.cases.is_empty() { 0 } else { p.offset + 1 },
        last,
        p.total
    );
    s
}

pub fn case(c: &CaseDto) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} · {}", c.reference, c.title);
    let row = |s: &mut String, k: &str, v: &str| {
        let _ = writeln!(s, "  {k:<12} {v}");
    };
    row(&mut s, "Kind", &c.kind_label);
    row(&mut s, "Status", &c.status_label);
    row(&mut s, "Address", c.address.as_deref().unwrap_or("-"));
    row(&mut s, "Postcode", c.postcode.as_deref().unwrap_or("-"));
    row(
        &mut s,
        "UPRN",
        &c.uprn.map(|u| u.to_string()).unwrap_or_else(|| "-".into()),
    );
    let loc = c
        .location
        .as_ref()
        .map(|l| format!("{:.6}, {:.6} ({})", l.lat, l.lon, l.source));
    row(&mut s, "Location", loc.as_deref().unwrap_or("-"));
    row(&mut s, "Due", c.due.as_deref().unwrap_or("-"));
    row(
        &mut s,
        "Assigned to",
        c.assignee.as_ref().map(who).unwrap_or("-"),
    );
    row(
        &mut s,
        "Created",
        &format!("{} by {}", when(&c.created_at), who(&c.created_by)),
    );
    row(&mut s, "Id", &c.id);
    for (i, v) in c.visits.iter().enumerate() {
        let _ = writeln!(
            s,
            "\nVisit {} · {} · {} by {}",
            i + 1,
            v.template_title,
            when(&v.started_at),
            who(&v.officer)
        );
        let _ = writeln!(s, "  id {}", v.id);
        for a in &v.answers {
            let _ = writeln!(s, "  {}: {}", a.label, a.display);
        }
        if let Some(score) = &v.score {
            let _ = writeln!(
                s,
                "  Score {} -> food hygiene rating {}",
                score.total, score.rating
            );
        }
        if !v.missing_required.is_empty() {
            let _ = writeln!(s, "  Still to answer: {}", v.missing_required.join("; "));
        }
    }
    if !c.notes.is_empty() {
        let _ = writeln!(s, "\nNotes");
        for n in &c.notes {
            let _ = writeln!(s, "  {} {}: {}", when(&n.at), who(&n.author), n.text);
        }
    }
    if !c.allowed_transitions.is_empty() {
        let _ = writeln!(
            s,
            "\nYou can move it to: {}",
            c.allowed_transitions.join(", ")
        );
    }
    s
}

pub fn history(h: &Vec<HistoryEntryDto>) -> String {
    let mut s = String::new();
    for e in h {
        let person = e.person.as_ref().map(who).unwrap_or(&e.actor);
        let _ = writeln!(s, "{}  {:<20} {}", when(&e.at), person, e.message);
    }
    s
}

pub fn templates(ts: &Vec<TemplateDto>) -> String {
    let mut s = String::new();
    for t in ts {
        let kinds = if t.case_kinds.is_empty() {
            "any kind".to_string()
        } else {
            t.case_kinds.join(", ")
        };
        let _ = writeln!(s, "{:<16} v{}  {} ({})", t.id, t.version, t.title, kinds);
    }
    s
}

pub fn template(t: &TemplateDto) -> String {
    let mut s = format!("{} (v{})\n", t.title, t.version);
    for sec in &t.sections {
        let _ = writeln!(s, "\n{}", sec.title);
        for i in &sec.items {
            let mut how = i.kind.clone();
            if !i.options.is_empty() {
                how = format!(
                    "{}: {}",
                    i.kind,
                    i.options
                        .iter()
                        .map(|o| o.value.as_str())
                        .collect::<Vec<_>>()
                        .join("/")
                );
            } else if let (Some(min), Some(max)) = (i.min, i.max) {
                how = format!(
                    "number {min}..{max}{}",
                    i.unit
                        .as_deref()
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default()
                );
            }
            let req = if i.required { "" } else { " (optional)" };
            let _ = writeln!(s, "  {:<20} {}{} [{}]", i.id, i.label, req, how);
        }
    }
    s
}

/// A case's conflicts, numbered for `fieldbook case choose`.
pub fn conflicts(reference: &str, conflicts: &[fieldbook_app::ConflictDto]) -> String {
    let mut s = String::new();
    if conflicts.is_empty() {
        let _ = writeln!(s, "{reference} has no conflicting changes.");
        return s;
    }
    let _ = writeln!(s, "Changed by two people at the same time:");
    for (i, c) in conflicts.iter().enumerate() {
        let _ = writeln!(s, "  {}. {}", i + 1, c.label);
        for (j, v) in c.values.iter().enumerate() {
            let now = if v.current { " (shown now)" } else { "" };
            let _ = writeln!(s, "     {}) {} — by {}{now}", j + 1, v.shown, v.by);
        }
        if !c.choosable {
            let _ = writeln!(
                s,
                "     Settled by the case's next review step, not by choosing."
            );
        }
    }
    let _ = writeln!(
        s,
        "Choose a value with: fieldbook case choose {reference} CONFLICT VALUE"
    );
    s
}
