//! British National Grid (OSGB36, EPSG:27700) eastings and northings from a WGS84 point, and
//! back, with Ordnance Survey's official OSTN15 transformation.
//!
//! Back-office systems (Uniform's MapEast/MapNorth, GIS) expect BNG; a case stores the WGS84 point
//! and derives BNG with [`Bng::from_wgs84`]. A plain Helmert transform is several metres out
//! across Great Britain; OSTN15 reproduces the official OSGB36 coordinates to the millimetre.
//!
//! How: ETRS89 latitude/longitude → Transverse Mercator on the GRS80 ellipsoid with the National
//! Grid's parameters (the series in Annex C of Ordnance Survey's "A guide to coordinate systems in
//! Great Britain", written out here) → ETRS89 grid easting/northing → OSTN15 shift, bilinearly
//! interpolated from the 1 km grid by [`lonlat_bng::convert_etrs89_to_osgb36`] → OSGB36, rounded to
//! the millimetre once. The inverse uses `lonlat_bng::convert_osgb36_to_etrs89` (the iterative
//! method of the OSTN15 user guide) and `lonlat_bng::convert_etrs89_to_ll`.
//!
//! Why the projection is written here rather than calling `lonlat_bng::convert_osgb36`: that
//! function first refuses any point south of latitude 49.922° or east of 1.78°, which cuts off the
//! south of the Isles of Scilly (Hugh Town is at 49.914°) although OSTN15 covers it. Here the
//! domain is exactly the OSTN15 grid: ETRS89 grid coordinates 0 ≤ E < 700 km and 0 ≤ N < 1250 km.
//! A point outside it (Paris, mid-Atlantic) is refused with [`DomainError::OutsideNationalGrid`],
//! never extrapolated. OSTN15 gives a shift everywhere in that rectangle, so points in the sea near
//! Great Britain, and the east of Ireland, do convert.
//!
//! Accuracy: against all 40 points of Ordnance Survey's OSTN15 test data the result is within
//! 1 mm of the published OSGB36 coordinates (`crates/core/tests/geo/bng.rs`). OSTN15 is defined
//! from ETRS89; a GPS fix is WGS84, which has drifted about 0.9 m from ETRS89 since 1989 with the
//! Eurasian plate. Like Ordnance Survey's own guidance for metre-level work, the point is taken as
//! ETRS89 unchanged, so the millimetres are precision, not the accuracy of a GPS fix.
//!
//! Source: OSTN15 © Ordnance Survey and the Ministry of Defence 2015 (BSD licence), via the
//! `lonlat_bng` crate (Stephan Hügel, BlueOak-1.0.0).

use crate::DomainError;
use crate::geo::LatLon;

/// OSGB36 British National Grid coordinates in metres, rounded to the millimetre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bng {
    pub easting: f64,
    pub northing: f64,
}

// National Grid Transverse Mercator on the GRS80 ellipsoid (OSTN15 user guide, Annex B).
const A: f64 = 6_378_137.000;
const B: f64 = 6_356_752.314_1;
const F0: f64 = 0.999_601_271_7;
const E0: f64 = 400_000.0;
const N0: f64 = -100_000.0;
const PHI0_DEG: f64 = 49.0;
const LAMBDA0_DEG: f64 = -2.0;

/// The OSTN15 grid: 701 × 1251 nodes, 1 km apart, from (0, 0).
const GRID_E: f64 = 700_000.0;
const GRID_N: f64 = 1_250_000.0;
/// The lettered 100 km squares of the National Grid reach 1300 km north (HP, HT, HU, ...).
const LETTERED_N: f64 = 1_300_000.0;

/// A box of latitude/longitude that holds the whole OSTN15 grid with a margin; points outside it
/// are refused before projecting, so far-away points never reach the series, which is only valid
/// near the central meridian.
const LAT_RANGE: std::ops::RangeInclusive<f64> = 48.5..=62.0;
const LON_RANGE: std::ops::RangeInclusive<f64> = -12.5..=4.5;

impl Bng {
    /// The OSGB36 easting and northing of a WGS84/ETRS89 point, by OSTN15. A point outside the
    /// OSTN15 grid is refused with [`DomainError::OutsideNationalGrid`].
    pub fn from_wgs84(at: LatLon) -> Result<Bng, DomainError> {
        let outside = || DomainError::OutsideNationalGrid {
            point: format!("latitude {}, longitude {}", at.lat(), at.lon()),
        };
        if !LAT_RANGE.contains(&at.lat()) || !LON_RANGE.contains(&at.lon()) {
            return Err(outside());
        }
        let (e, n) = etrs89_grid(at.lat(), at.lon());
        if !in_ostn15_grid(e, n) {
            return Err(outside());
        }
        let (easting, northing) =
            lonlat_bng::convert_etrs89_to_osgb36(e, n).map_err(|_| outside())?;
        Ok(Bng { easting, northing })
    }

    /// The WGS84/ETRS89 point of these OSGB36 coordinates, by the inverse of OSTN15. Refused with
    /// [`DomainError::OutsideNationalGrid`] where [`Bng::from_wgs84`] would refuse the result, so
    /// every point that converts one way converts back.
    pub fn to_wgs84(self) -> Result<LatLon, DomainError> {
        let outside = || DomainError::OutsideNationalGrid {
            point: format!("easting {}, northing {}", self.easting, self.northing),
        };
        if !in_ostn15_grid(self.easting, self.northing) {
            return Err(outside());
        }
        let (e, n) = lonlat_bng::convert_osgb36_to_etrs89(self.easting, self.northing)
            .map_err(|_| outside())?;
        if !in_ostn15_grid(e, n) {
            return Err(outside());
        }
        let (lon, lat) = lonlat_bng::convert_etrs89_to_ll(e, n).map_err(|_| outside())?;
        if !LAT_RANGE.contains(&lat) || !LON_RANGE.contains(&lon) {
            return Err(outside());
        }
        LatLon::new(lat, lon).map_err(|_| outside())
    }

    /// The Ordnance Survey grid reference to the metre, in its usual written form: two letters for
    /// the 100 km square, then five figures of easting and five of northing within it, e.g.
    /// E 530047, N 180422 → `TQ 30047 80422`. `None` outside the lettered grid (0 ≤ E < 700 km,
    /// 0 ≤ N < 1300 km).
    pub fn grid_ref(self) -> Option<String> {
        self.grid_ref_figures(10)
    }

    /// The grid reference with `figures` digits in all (0, 2, 4, 6, 8 or 10; half for each axis):
    /// 10 → `TQ 30047 80422` (1 m), 8 → `TQ 3004 8042` (10 m), 6 → `TQ 300 804` (100 m),
    /// 0 → `TQ`. As Ordnance Survey prescribes, figures are truncated, not rounded: a reference
    /// names the square the point is in. `None` for another number of figures or outside the
    /// lettered grid.
    pub fn grid_ref_figures(self, figures: u8) -> Option<String> {
        if figures > 10 || figures % 2 == 1 {
            return None;
        }
        let (e, n) = (self.easting, self.northing);
        if !(0.0..GRID_E).contains(&e) || !(0.0..LETTERED_N).contains(&n) {
            return None;
        }
        // Whole metres; in range, so these fit and are not negative.
        let (e, n) = (e.floor() as u32, n.floor() as u32);
        let (e100k, n100k) = (e / 100_000, n / 100_000);
        // The first letter names the 500 km square (S at the false origin, T east of it, N and O
        // north, H and J further north), the second the 100 km square within it. Each is a
        // 5 × 5 block of the alphabet without I, read from A at the north-west corner.
        let row = 19 - n100k;
        let first = row - row % 5 + (e100k + 10) / 5;
        let second = (row * 5) % 25 + e100k % 5;
        let letter = |i: u32| {
            let i = if i > 7 { i + 1 } else { i };
            char::from(b'A' + i as u8)
        };
        let mut out = String::with_capacity(14);
        out.push(letter(first));
        out.push(letter(second));
        let digits = u32::from(figures / 2);
        if digits > 0 {
            let unit = 10_u32.pow(5 - digits);
            let width = digits as usize;
            let (de, dn) = ((e % 100_000) / unit, (n % 100_000) / unit);
            out.push_str(&format!(" {de:0width$} {dn:0width$}"));
        }
        Some(out)
    }
}

fn in_ostn15_grid(e: f64, n: f64) -> bool {
    (0.0..GRID_E).contains(&e) && (0.0..GRID_N).contains(&n)
}

/// ETRS89 latitude/longitude (degrees) → ETRS89 grid easting/northing (metres, unrounded) by the
/// Transverse Mercator series of Ordnance Survey's "A guide to coordinate systems in Great
/// Britain", Annex C (equations C1–C3), on the GRS80 ellipsoid.
fn etrs89_grid(lat_deg: f64, lon_deg: f64) -> (f64, f64) {
    let phi = lat_deg.to_radians();
    let phi0 = PHI0_DEG.to_radians();
    let l = (lon_deg - LAMBDA0_DEG).to_radians();
    let n = (A - B) / (A + B);
    let e2 = (A * A - B * B) / (A * A);
    let (s, c) = phi.sin_cos();
    let t = phi.tan();
    let t2 = t * t;
    let t4 = t2 * t2;
    let nu = A * F0 / (1.0 - e2 * s * s).sqrt();
    let rho = A * F0 * (1.0 - e2) * (1.0 - e2 * s * s).powf(-1.5);
    let eta2 = nu / rho - 1.0;
    let (dp, sp) = (phi - phi0, phi + phi0);
    let (n2, n3) = (n * n, n * n * n);
    let m = B
        * F0
        * ((1.0 + n + 1.25 * n2 + 1.25 * n3) * dp
            - (3.0 * n + 3.0 * n2 + 21.0 / 8.0 * n3) * dp.sin() * sp.cos()
            + (15.0 / 8.0 * n2 + 15.0 / 8.0 * n3) * (2.0 * dp).sin() * (2.0 * sp).cos()
            - 35.0 / 24.0 * n3 * (3.0 * dp).sin() * (3.0 * sp).cos());
    let c3 = c * c * c;
    let c5 = c3 * c * c;
    let i = m + N0;
    let ii = nu / 2.0 * s * c;
    let iii = nu / 24.0 * s * c3 * (5.0 - t2 + 9.0 * eta2);
    let iiia = nu / 720.0 * s * c5 * (61.0 - 58.0 * t2 + t4);
    let iv = nu * c;
    let v = nu / 6.0 * c3 * (nu / rho - t2);
    let vi = nu / 120.0 * c5 * (5.0 - 18.0 * t2 + t4 + 14.0 * eta2 - 58.0 * t2 * eta2);
    let (l2, l3) = (l * l, l * l * l);
    let north = i + ii * l2 + iii * l2 * l2 + iiia * l3 * l3;
    let east = E0 + iv * l + v * l3 + vi * l3 * l2;
    (east, north)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bng(easting: f64, northing: f64) -> Bng {
        Bng { easting, northing }
    }

    #[test]
    fn grid_references() {
        assert_eq!(
            bng(530047.0, 180422.0).grid_ref().as_deref(),
            Some("TQ 30047 80422")
        );
        assert_eq!(
            bng(530015.4, 179990.9).grid_ref().as_deref(),
            Some("TQ 30015 79990")
        );
        // Ben Nevis summit, at every precision.
        let ben = bng(216666.0, 771288.0);
        let refs: Vec<_> = (0..=10)
            .step_by(2)
            .map(|f| ben.grid_ref_figures(f).expect("in the grid"))
            .collect();
        assert_eq!(
            refs,
            [
                "NN",
                "NN 1 7",
                "NN 16 71",
                "NN 166 712",
                "NN 1666 7128",
                "NN 16666 71288"
            ]
        );
        // The corners and far north of the lettered grid; leading zeros are kept.
        assert_eq!(bng(0.0, 0.0).grid_ref().as_deref(), Some("SV 00000 00000"));
        assert_eq!(
            bng(699_999.999, 0.5).grid_ref().as_deref(),
            Some("TW 99999 00000")
        );
        assert_eq!(
            bng(446_000.0, 1_208_000.0).grid_ref().as_deref(),
            Some("HP 46000 08000")
        );
        assert_eq!(
            bng(0.0, 1_299_999.0).grid_ref().as_deref(),
            Some("HL 00000 99999")
        );
        assert_eq!(
            bng(389_544.19, 261_912.153).grid_ref().as_deref(),
            Some("SO 89544 61912")
        );
        assert_eq!(
            bng(9_587.909, 899_448.996).grid_ref_figures(6).as_deref(),
            Some("NF 095 994")
        );
        // Every 100 km square letter pair is distinct and never uses I.
        let mut seen = std::collections::BTreeSet::new();
        for e in 0..7 {
            for n in 0..13 {
                let r = bng(f64::from(e) * 1e5, f64::from(n) * 1e5)
                    .grid_ref_figures(0)
                    .expect("lettered");
                assert!(!r.contains('I'), "{r}");
                assert!(seen.insert(r));
            }
        }
    }

    #[test]
    fn grid_references_outside_the_grid_or_odd_figures_are_none() {
        assert_eq!(bng(-0.001, 10.0).grid_ref(), None);
        assert_eq!(bng(700_000.0, 10.0).grid_ref(), None);
        assert_eq!(bng(10.0, 1_300_000.0).grid_ref(), None);
        assert_eq!(bng(f64::NAN, 10.0).grid_ref(), None);
        assert_eq!(bng(530047.0, 180422.0).grid_ref_figures(7), None);
        assert_eq!(bng(530047.0, 180422.0).grid_ref_figures(12), None);
    }

    #[test]
    fn the_latitude_longitude_box_holds_the_whole_grid() {
        // Each corner and edge midpoint of the OSTN15 grid, taken back to latitude/longitude,
        // lies inside the box checked before projecting, with room to spare.
        for (e, n) in [
            (0.0, 0.0),
            (699_999.0, 0.0),
            (0.0, 1_249_999.0),
            (699_999.0, 1_249_999.0),
            (350_000.0, 0.0),
            (350_000.0, 1_249_999.0),
            (0.0, 625_000.0),
            (699_999.0, 625_000.0),
        ] {
            let (lon, lat) = lonlat_bng::convert_etrs89_to_ll(e, n).expect("in the grid");
            assert!(
                LAT_RANGE.start() + 0.25 < lat && lat < LAT_RANGE.end() - 0.25,
                "{lat}"
            );
            assert!(
                LON_RANGE.start() + 0.25 < lon && lon < LON_RANGE.end() - 0.25,
                "{lon}"
            );
            let (e2, n2) = etrs89_grid(lat, lon);
            assert!(
                (e2 - e).abs() < 0.05 && (n2 - n).abs() < 0.05,
                "{e},{n}: {e2},{n2}"
            );
        }
    }
}
