//! Distances, the far-from-property rule and "near me" ordering.

use fieldbook_core::geo::{distance_m, far_from_property, nearest_first};

use crate::p;

#[test]
fn a_visit_across_the_street_is_not_flagged_but_one_in_the_next_town_is() {
    let property = p(51.50354, -0.12768);
    let across_the_street = p(51.50365, -0.12790);
    let next_town = p(51.4545, -0.9781);
    assert!(distance_m(across_the_street, property) < 25.0);
    assert_eq!(far_from_property(across_the_street, property, 100.0), None);
    let d = far_from_property(next_town, property, 100.0).expect("flagged");
    assert!((d - 59_000.0).abs() < 1_000.0, "{d}");
}

#[test]
fn near_me_orders_cases_by_distance() {
    let me = p(53.8008, -1.5491);
    let cases = vec![
        (3_u32, p(53.8300, -1.5900)),
        (1, p(53.8010, -1.5490)),
        (2, p(53.7900, -1.5400)),
    ];
    let sorted = nearest_first(me, cases);
    let ids: Vec<u32> = sorted.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert!(sorted.windows(2).all(|w| w[0].1 <= w[1].1));
}
