//! Reading a case out of its automerge document quickly.
//!
//! `autosurgeon::hydrate` asks the document for each struct field and each map entry by key, and
//! automerge answers every such `get` with a seek through its op columns (about 4 µs each). A case
//! with two visits of twenty answers is about 250 of them. [`hydrate_case`] gives autosurgeon the
//! same document behind a [`Snapshot`] that reads each map object once, in one ordered pass
//! (`map_range`), and answers the keyed `get`s from that pass. The values and object ids are the
//! ones automerge itself would give (the winning value of each key, as `get` chooses it), so the
//! result is the same `Case`; a property test below checks that against plain `hydrate`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeBounds;
use std::rc::Rc;

use automerge::{self as am, AutomergeError, ObjId, ObjType, Prop, Value};
use autosurgeon::ReadDoc;

use crate::Case;

/// Hydrate a case from its document: what `autosurgeon::hydrate::<_, Case>` gives, faster.
pub fn hydrate_case<D: ReadDoc>(doc: &D) -> Result<Case, autosurgeon::HydrateError> {
    autosurgeon::hydrate(&Snapshot::new(doc))
}

type Entries = HashMap<String, (Value<'static>, ObjId)>;

/// A read-only view of a document that answers keyed `get`s on a map from one pass over that
/// map. Meant to live for one hydrate: it does not see later changes to the document.
struct Snapshot<'a, D> {
    doc: &'a D,
    maps: RefCell<HashMap<ObjId, Option<Rc<Entries>>>>,
}

impl<'a, D: ReadDoc> Snapshot<'a, D> {
    fn new(doc: &'a D) -> Self {
        Snapshot {
            doc,
            maps: RefCell::new(HashMap::new()),
        }
    }

    /// The entries of the map `obj`, read once; `None` when `obj` is not a map.
    fn entries(&self, obj: &ObjId) -> Option<Rc<Entries>> {
        if let Some(known) = self.maps.borrow().get(obj) {
            return known.clone();
        }
        let entries = match self.doc.object_type(obj) {
            Some(ObjType::Map | ObjType::Table) => Some(Rc::new(
                self.doc
                    .map_range(obj.clone(), ..)
                    .map(|item| {
                        let id = item.id();
                        (item.key.into_owned(), (item.value.into_value(), id))
                    })
                    .collect(),
            )),
            _ => None,
        };
        self.maps.borrow_mut().insert(obj.clone(), entries.clone());
        entries
    }
}

impl<D: ReadDoc> ReadDoc for Snapshot<'_, D> {
    type Parents<'b>
        = D::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<am::ChangeHash> {
        self.doc.get_heads()
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        let prop = prop.into();
        if let Prop::Map(key) = &prop
            && let Some(entries) = self.entries(obj)
        {
            return Ok(entries.get(key).cloned());
        }
        self.doc.get(obj, prop)
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        self.doc.object_type(obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> am::iter::MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
    {
        self.doc.map_range(obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> am::iter::ListRange<'_> {
        self.doc.list_range(obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        self.doc.length(obj)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        self.doc.text(obj)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        self.doc.parents(obj)
    }

    fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use automerge::{ActorId, AutoCommit};
    use proptest::prelude::*;

    use super::hydrate_case;
    use crate::template::{AnswerValue, ItemKind, latest_template};
    use crate::{
        Actor, Case, CaseEdit, CaseId, CaseKind, Location, LocationSource, NewCase, PersonId,
        PhotoRef, Role, Timestamp,
    };

    fn plain(doc: &AutoCommit) -> Case {
        autosurgeon::hydrate(doc).expect("autosurgeon::hydrate")
    }

    fn officer(n: u8) -> Actor {
        Actor {
            person: PersonId::from_uuid(uuid::Uuid::from_bytes([n; 16])),
            role: Role::Officer,
        }
    }

    fn base() -> Case {
        Case::new(
            CaseId::from_uuid(uuid::Uuid::from_bytes([9; 16])),
            CaseKind::Housing,
            "HS-2026-1-0001".into(),
            NewCase {
                title: "Damp and mould complaint".into(),
                postcode: Some("BD1 1AB".into()),
                uprn: Some("100023336956".into()),
                ..NewCase::default()
            },
            officer(1),
            Timestamp(1),
        )
        .expect("a case")
    }

    fn value(kind: &ItemKind, seed: u8) -> AnswerValue {
        match kind {
            ItemKind::YesNo => AnswerValue::YesNo(seed.is_multiple_of(2)),
            ItemKind::Choice { options } => {
                AnswerValue::Choice(options[seed as usize % options.len()].value.clone())
            }
            ItemKind::Number { min, .. } => AnswerValue::Number(min + f64::from(seed)),
            ItemKind::Text { .. } => AnswerValue::Text(format!("remark {seed}")),
            ItemKind::Date => AnswerValue::Date(Timestamp(1).date().add_days(i64::from(seed))),
            ItemKind::Score { options } => {
                AnswerValue::Score(options[seed as usize % options.len()])
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Title(u8),
        Postcode(Option<u8>),
        Locate(Option<u8>),
        AddVisit,
        Answer(usize, usize, u8),
        Clear(usize, usize),
        AddNote(u8),
        EditNote(usize, u8),
        AddPhoto(u8),
        Merge(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<u8>().prop_map(Op::Title),
            proptest::option::of(any::<u8>()).prop_map(Op::Postcode),
            proptest::option::of(any::<u8>()).prop_map(Op::Locate),
            Just(Op::AddVisit),
            (0..3usize, 0..12usize, any::<u8>()).prop_map(|(v, i, s)| Op::Answer(v, i, s)),
            (0..3usize, 0..12usize).prop_map(|(v, i)| Op::Clear(v, i)),
            any::<u8>().prop_map(Op::AddNote),
            (0..3usize, any::<u8>()).prop_map(|(n, s)| Op::EditNote(n, s)),
            any::<u8>().prop_map(Op::AddPhoto),
            (0..3usize).prop_map(Op::Merge),
        ]
    }

    /// One device's edit, through the domain rules (a refused edit changes nothing).
    fn apply(case: &mut Case, op: &Op, actor: Actor, now: Timestamp) {
        let template = latest_template("hhsrs-survey").expect("template");
        let visit = |case: &Case, v: usize| case.visits.values().nth(v).map(|x| x.id);
        let item = |i: usize| template.items().nth(i).expect("an item");
        let _ = match op {
            Op::Title(s) => case.edit(
                CaseEdit {
                    title: Some(format!("Title {s}")),
                    ..CaseEdit::default()
                },
                actor,
            ),
            Op::Postcode(p) => case.edit(
                CaseEdit {
                    postcode: Some(p.map(|p| format!("BD{} 1AB", 1 + p % 19))),
                    ..CaseEdit::default()
                },
                actor,
            ),
            Op::Locate(l) => case.edit(
                CaseEdit {
                    location: Some(l.map(|l| {
                        Location::new(
                            53.0 + f64::from(l) / 1000.0,
                            -1.5,
                            Some(5.0),
                            LocationSource::Device,
                            now,
                        )
                        .expect("a location")
                    })),
                    ..CaseEdit::default()
                },
                actor,
            ),
            Op::AddVisit => case.add_visit(template, None, actor, now).map(|_| ()),
            Op::Answer(v, i, s) => match visit(case, *v) {
                Some(id) => case.answer(id, &item(*i).id, value(&item(*i).kind, *s), actor, now),
                None => Ok(()),
            },
            Op::Clear(v, i) => match visit(case, *v) {
                Some(id) => case.clear_answer(id, &item(*i).id, actor),
                None => Ok(()),
            },
            Op::AddNote(s) => case.add_note(&format!("note {s}"), actor, now).map(|_| ()),
            Op::EditNote(n, s) => match case.notes.values().nth(*n).map(|n| n.id) {
                Some(id) => case.edit_note(id, &format!("edited note {s}"), actor),
                None => Ok(()),
            },
            Op::AddPhoto(s) => case
                .add_photo(
                    PhotoRef {
                        sha256: format!("{s:02x}").repeat(32),
                        bytes: 1000 + u64::from(*s),
                        mime: "image/jpeg".into(),
                        width: 1600,
                        height: 1200,
                        taken_at: Some(now),
                        location: None,
                        caption: format!("photo {s}"),
                        visit: None,
                        thumb_sha256: None,
                    },
                    actor,
                )
                .map(|_| ()),
            Op::Merge(_) => unreachable!("a merge is not an edit: the test merges documents"),
        };
    }

    #[test]
    fn a_full_case_reads_the_same_as_with_plain_hydrate() {
        let mut case = base();
        for (n, op) in [
            Op::AddVisit,
            Op::AddVisit,
            Op::Locate(Some(7)),
            Op::AddNote(1),
            Op::AddNote(2),
            Op::EditNote(0, 3),
            Op::AddPhoto(4),
        ]
        .iter()
        .enumerate()
        {
            apply(&mut case, op, officer(1), Timestamp(10 + n as i64));
        }
        for v in 0..2 {
            for i in 0..12 {
                apply(
                    &mut case,
                    &Op::Answer(v, i, i as u8),
                    officer(1),
                    Timestamp(50),
                );
            }
        }
        assert_eq!(case.visits.len(), 2);
        assert!(case.visits.values().all(|v| v.answers.len() == 12));
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &case).expect("reconcile");
        let loaded = AutoCommit::load(&doc.save()).expect("load");
        assert_eq!(hydrate_case(&loaded).expect("hydrate_case"), case);
        assert_eq!(plain(&loaded), case);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Three devices edit one case offline, the same fields among others, and merge in a
        /// random order: at every step both readers see the same case, conflicts included
        /// (the value automerge's `get` picks).
        #[test]
        fn concurrent_edits_read_the_same_as_with_plain_hydrate(
            ops in proptest::collection::vec((0..3usize, op()), 1..40)
        ) {
            let mut first = AutoCommit::new().with_actor(ActorId::from(&[1u8; 16][..]));
            autosurgeon::reconcile(&mut first, base()).expect("reconcile");
            first.commit();
            let mut docs = [
                first.fork().with_actor(ActorId::from(&[2u8; 16][..])),
                first.fork().with_actor(ActorId::from(&[3u8; 16][..])),
                first,
            ];
            for (n, (device, op)) in ops.iter().enumerate() {
                if let Op::Merge(from) = op {
                    if from != device {
                        let mut other = docs[*from].clone();
                        docs[*device].merge(&mut other).expect("merge");
                    }
                } else {
                    let mut case = plain(&docs[*device]);
                    apply(&mut case, op, officer(*device as u8 + 1), Timestamp(100 + n as i64));
                    autosurgeon::reconcile(&mut docs[*device], &case).expect("reconcile");
                    docs[*device].commit();
                }
                let doc = &docs[*device];
                prop_assert_eq!(hydrate_case(doc).expect("hydrate_case"), plain(doc));
            }
            // Everything merged everywhere: one case, with whichever conflicts arose.
            let mut all = docs[0].clone();
            for d in &mut docs[1..] {
                all.merge(d).expect("merge");
            }
            let loaded = AutoCommit::load(&all.save()).expect("load");
            prop_assert_eq!(hydrate_case(&loaded).expect("hydrate_case"), plain(&loaded));
        }
    }
}
