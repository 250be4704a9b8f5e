//! Plain-text rendering of the device API's DTOs for a terminal.

use std::fmt::Write;

use fieldbook_app::{
    BngDto, CaseDto, CasePageDto, DeviceDto, HistoryEntryDto, LocationDto, PersonDto, PhotoDto,
    PlaceDto, TemplateDto, WardDto,
};

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
        // A "near me" list says how far each case is.
        let away = match c.distance_m {
            Some(m) if m < 1000.0 => format!("  ({m:.0} m away)"),
            Some(m) => format!("  ({:.1} km away)", m / 1000.0),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "{:<16} {:<12} {:<10} {:<16} {}{away}",
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
    let loc = c.location.as_ref().map(location);
    row(&mut s, "Location", loc.as_deref().unwrap_or("-"));
    if let Some(l) = &c.location {
        row(&mut s, "BNG", &bng(l.bng.as_ref()));
        row(&mut s, "Ward", &ward(l.ward.as_ref()));
    }
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
        if let Some(l) = &v.location {
            let _ = writeln!(s, "  Recorded at {}", location(l));
        }
        if let Some(m) = v.far_from_property_m {
            let _ = writeln!(
                s,
                "  Recorded {} from the case's location: check it was the right place",
                metres(m)
            );
        }
    }
    if !c.photos.is_empty() {
        let _ = writeln!(s, "\nPhotos");
        let _ = write!(s, "{}", photos(&c.photos));
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

/// `51.503540, -0.127680 ±5 m (photo_exif)`.
pub fn location(l: &LocationDto) -> String {
    let accuracy = l
        .accuracy_m
        .map(|a| format!(" ±{}", metres(a)))
        .unwrap_or_default();
    format!("{:.6}, {:.6}{accuracy} ({})", l.lat, l.lon, l.source)
}

/// `E 530047.000 N 180422.000 (TQ 30047 80422)`, or why there is none.
pub fn bng(b: Option<&BngDto>) -> String {
    match b {
        Some(b) => format!(
            "E {:.3} N {:.3}{}",
            b.easting,
            b.northing,
            b.grid_ref
                .as_deref()
                .map(|g| format!(" ({g})"))
                .unwrap_or_default()
        ),
        None => "- (outside the National Grid)".into(),
    }
}

pub fn ward(w: Option<&WardDto>) -> String {
    match w {
        Some(w) => format!("{} ({})", w.name, w.code),
        None => "- (none loaded, or outside every ward)".into(),
    }
}

fn metres(m: f64) -> String {
    if m >= 1000.0 {
        format!("{:.1} km", m / 1000.0)
    } else {
        format!("{m:.0} m")
    }
}

/// One line a photo: its name, size, when and where, its caption and visit.
pub fn photos(list: &Vec<PhotoDto>) -> String {
    let mut s = String::new();
    if list.is_empty() {
        s.push_str("No photos\n");
    }
    for p in list {
        let _ = writeln!(
            s,
            "  {}  {}×{}  {} KB{}{}{}",
            p.sha256,
            p.width,
            p.height,
            p.bytes.div_ceil(1024),
            p.taken_at
                .as_deref()
                .map(|t| format!("  taken {}", when(t)))
                .unwrap_or_default(),
            p.visit_id
                .as_deref()
                .map(|v| format!("  visit {v}"))
                .unwrap_or_default(),
            if p.held.iter().any(|h| h == "full") {
                ""
            } else {
                "  (not on this device yet)"
            }
        );
        if !p.caption.is_empty() {
            let _ = writeln!(s, "    \"{}\"", p.caption);
        }
        if let Some(l) = &p.location {
            let _ = writeln!(
                s,
                "    at {} · BNG {} · ward {}",
                location(l),
                bng(l.bng.as_ref()),
                ward(l.ward.as_ref())
            );
        }
    }
    s
}

pub fn places(list: &Vec<PlaceDto>) -> String {
    let mut s = String::new();
    if list.is_empty() {
        s.push_str("No match in the gazetteer\n");
    }
    for p in list {
        let _ = writeln!(
            s,
            "{}  {}  {}\n  {:.6}, {:.6} · BNG {} · ward {}",
            p.uprn,
            p.address.as_deref().unwrap_or("(no address)"),
            p.postcode.as_deref().unwrap_or(""),
            p.lat,
            p.lon,
            bng(Some(&p.bng)),
            ward(p.ward.as_ref())
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
