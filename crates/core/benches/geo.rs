//! Geography benchmark (issue 5): British National Grid conversions, ward look-ups and distances,
//! each beside a baseline measured in the same run. Prints a Markdown report on stdout.
//!
//! ```sh
//! cargo bench -p fieldbook-core --bench geo
//! FIELDBOOK_BENCH_POINTS=100000 cargo bench -p fieldbook-core --bench geo   # smoke run
//! ```
//!
//! - BNG: `FIELDBOOK_BENCH_POINTS` (default 1,000,000) random points over Great Britain, converted
//!   by OSTN15 (`Bng::from_wgs84`) and back; baselines: a plain seven-parameter Helmert transform
//!   written below (`helmert_bng`; lonlat_bng no longer exports its own) and lonlat_bng's own
//!   one-step OSTN15 `convert_osgb36`. The Helmert error against OSTN15 is reported too.
//! - Wards: 50 synthetic wards (a 10 × 5 grid of cells, each boundary a wobbly ring of exactly
//!   1,000 vertices, neighbours sharing their wobbly edges), loaded from GeoJSON text by
//!   `WardIndex::from_geojson`, then 200,000 random points looked up (target ≥ 100,000 per second
//!   on one core); baseline: the same exact test against every ward in turn, no R-tree. Both must
//!   give the same answers.
//! - Distances: geodesic `distance_m` against the haversine formula (`geo::Haversine`), and
//!   `nearest_first` over a 50,000-case list.
//!
//! Everything is single-threaded and deterministic (a fixed-seed SplitMix64).

use std::hint::black_box;
use std::time::{Duration, Instant};

use fieldbook_core::geo::{Bng, LatLon, WardIndex, distance_m, far_from_property, nearest_first};
use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::{Coord, Distance, Haversine, LineString, Polygon};

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        lo + unit * (hi - lo)
    }
}

fn point(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).expect("a possible point")
}

/// Runs `f` and returns how long it took.
fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// 1234567 -> "1,234,567".
fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

struct Row {
    what: String,
    result: String,
    target: String,
    met: String,
    baseline: String,
}

fn main() {
    let points: usize = std::env::var("FIELDBOOK_BENCH_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let load_start = load_average();
    let mut rows = Vec::new();
    let mut rng = Rng(0x5EED_F1E1_DB00_C0DE);

    // (a) British National Grid.
    eprintln!("BNG: {points} points");
    let gb: Vec<LatLon> = (0..points)
        .map(|_| point(rng.range(50.0, 58.6), rng.range(-5.5, 1.7)))
        .collect();
    // Warm up: the first pass touches the OSTN15 table's pages for the first time.
    for &p in gb.iter().take(100_000) {
        let bng = Bng::from_wgs84(p).expect("on the grid");
        black_box(bng.to_wgs84().expect("back"));
        black_box(lonlat_bng::convert_osgb36(p.lon(), p.lat()).expect("in its box"));
        black_box(helmert_bng(p.lat(), p.lon()));
    }
    let mut grid = Vec::with_capacity(points);
    let ostn15 = timed(|| {
        for &p in &gb {
            grid.push(Bng::from_wgs84(black_box(p)).expect("on the grid"));
        }
    });
    let mut one_step = 0.0;
    let lonlat_bng_ostn15 = timed(|| {
        for p in &gb {
            let (e, _) = lonlat_bng::convert_osgb36(black_box(p.lon()), black_box(p.lat()))
                .expect("in its box");
            one_step += e;
        }
    });
    black_box(one_step);
    let mut helmert = Vec::with_capacity(points);
    let helmert_time = timed(|| {
        for p in &gb {
            helmert.push(helmert_bng(black_box(p.lat()), black_box(p.lon())));
        }
    });
    let mut back = 0.0;
    let inverse = timed(|| {
        for &b in &grid {
            back += black_box(b).to_wgs84().expect("back").lat();
        }
    });
    black_box(back);
    let (mut sum, mut max) = (0.0_f64, 0.0_f64);
    for (o, (he, hn)) in grid.iter().zip(&helmert) {
        let d = (o.easting - he).hypot(o.northing - hn);
        sum += d;
        max = max.max(d);
    }
    let mean = sum / points as f64;
    let n = thousands(points as f64);
    rows.push(Row {
        what: format!("WGS84 → BNG by OSTN15 (`Bng::from_wgs84`), {n} points"),
        result: format!(
            "{} /s ({:.2} µs each)",
            thousands(per_second(points, ostn15)),
            ostn15.as_secs_f64() * 1e6 / points as f64
        ),
        target: "—".into(),
        met: "—".into(),
        baseline: format!(
            "plain Helmert + Airy projection (in the bench): {} /s; lonlat_bng `convert_osgb36` (OSTN15): {} /s",
            thousands(per_second(points, helmert_time)),
            thousands(per_second(points, lonlat_bng_ostn15))
        ),
    });
    rows.push(Row {
        what: format!("BNG → WGS84 by inverse OSTN15 (`Bng::to_wgs84`), {n} points"),
        result: format!(
            "{} /s ({:.2} µs each)",
            thousands(per_second(points, inverse)),
            inverse.as_secs_f64() * 1e6 / points as f64
        ),
        target: "—".into(),
        met: "—".into(),
        baseline: "—".into(),
    });
    rows.push(Row {
        what: "How far a plain Helmert transform lands from OSTN15".into(),
        result: format!("mean {mean:.2} m, max {max:.2} m"),
        target: "—".into(),
        met: "—".into(),
        baseline: "OSTN15 itself: ≤ 1 mm at the 40 OS test points".into(),
    });
    drop((gb, grid, helmert));

    // (b) Wards.
    let (cols, rows_of_cells, vertices) = (10, 5, 1_000);
    eprintln!("wards: {cols} × {rows_of_cells} cells of {vertices} vertices");
    let wards = synthetic_wards(cols, rows_of_cells, vertices);
    assert!(
        wards
            .iter()
            .all(|(_, p)| p.exterior().0.len() == vertices + 1)
    );
    let text = geojson_text(&wards);
    let mut index = None;
    let load = timed(|| index = Some(WardIndex::from_geojson(&text).expect("loads")));
    let index = index.expect("loaded");
    assert_eq!(index.len(), cols * rows_of_cells);
    let queries = 200_000;
    let (lon0, lat0, lon1, lat1) = area(cols, rows_of_cells);
    let margin = 0.01;
    let query_points: Vec<LatLon> = (0..queries)
        .map(|_| {
            point(
                rng.range(lat0 - margin, lat1 + margin),
                rng.range(lon0 - margin, lon1 + margin),
            )
        })
        .collect();
    let mut indexed_answers = Vec::with_capacity(queries);
    let indexed = timed(|| {
        for &p in &query_points {
            indexed_answers.push(index.ward_at(black_box(p)).map(|w| w.code.clone()));
        }
    });
    let mut brute_answers = Vec::with_capacity(queries);
    let brute = timed(|| {
        for &p in &query_points {
            brute_answers.push(brute_force(&wards, black_box(p)).map(str::to_string));
        }
    });
    assert_eq!(
        indexed_answers, brute_answers,
        "the index and brute force agree"
    );
    let found = indexed_answers.iter().filter(|a| a.is_some()).count();
    let rate = per_second(queries, indexed);
    rows.push(Row {
        what: format!(
            "Ward look-up (`WardIndex::ward_at`), {} wards × {vertices} vertices, {} random points ({}% in a ward)",
            cols * rows_of_cells,
            thousands(queries as f64),
            found * 100 / queries
        ),
        result: format!(
            "{} /s ({:.2} µs each)",
            thousands(rate),
            indexed.as_secs_f64() * 1e6 / queries as f64
        ),
        target: "≥ 100,000 /s, one core".into(),
        met: if rate >= 100_000.0 { "yes" } else { "no" }.into(),
        baseline: format!(
            "brute force, every ward in turn, no R-tree: {} /s",
            thousands(per_second(queries, brute))
        ),
    });
    rows.push(Row {
        what: format!(
            "Load that ward file (`WardIndex::from_geojson`, {:.1} MB of GeoJSON)",
            text.len() as f64 / 1e6
        ),
        result: format!("{:.0} ms", load.as_secs_f64() * 1e3),
        target: "—".into(),
        met: "—".into(),
        baseline: "—".into(),
    });

    // (c) Distances.
    eprintln!("distances: {points} pairs");
    let pairs: Vec<(LatLon, LatLon)> = (0..points)
        .map(|_| {
            let a = point(rng.range(50.0, 58.6), rng.range(-5.5, 1.7));
            let b = point(
                a.lat() + rng.range(-0.01, 0.01),
                a.lon() + rng.range(-0.01, 0.01),
            );
            (a, b)
        })
        .collect();
    let mut total = 0.0;
    let geodesic = timed(|| {
        for &(a, b) in &pairs {
            total += distance_m(black_box(a), black_box(b));
        }
    });
    black_box(total);
    let mut total_h = 0.0;
    let mut worst_h: f64 = 0.0;
    let haversine = timed(|| {
        for &(a, b) in &pairs {
            total_h += Haversine.distance(
                geo::Point::new(black_box(a).lon(), a.lat()),
                geo::Point::new(black_box(b).lon(), b.lat()),
            );
        }
    });
    black_box(total_h);
    for &(a, b) in pairs.iter().take(100_000) {
        let g = distance_m(a, b);
        let h = Haversine.distance(
            geo::Point::new(a.lon(), a.lat()),
            geo::Point::new(b.lon(), b.lat()),
        );
        if g > 1.0 {
            worst_h = worst_h.max((h - g).abs() / g);
        }
    }
    let mut flagged = 0_usize;
    let far = timed(|| {
        for &(a, b) in &pairs {
            if far_from_property(black_box(a), black_box(b), 500.0).is_some() {
                flagged += 1;
            }
        }
    });
    black_box(flagged);
    rows.push(Row {
        what: format!("Geodesic distance (`distance_m`, Karney), {n} pairs up to ~1.4 km apart"),
        result: format!(
            "{} /s ({:.2} µs each)",
            thousands(per_second(points, geodesic)),
            geodesic.as_secs_f64() * 1e6 / points as f64
        ),
        target: "—".into(),
        met: "—".into(),
        baseline: format!(
            "haversine (`geo::Haversine`): {} /s, up to {:.2} % out",
            thousands(per_second(points, haversine)),
            worst_h * 100.0
        ),
    });
    rows.push(Row {
        what: format!("Far-from-property rule (`far_from_property`, 500 m), {n} visits"),
        result: format!("{} /s", thousands(per_second(points, far))),
        target: "—".into(),
        met: "—".into(),
        baseline: "—".into(),
    });
    let me = point(53.8008, -1.5491);
    let caseload: Vec<(usize, LatLon)> = (0..50_000)
        .map(|i| (i, point(rng.range(53.6, 54.0), rng.range(-1.9, -1.2))))
        .collect();
    let mut sorted = Vec::new();
    let near = timed(|| sorted = nearest_first(me, black_box(caseload.iter().copied())));
    assert_eq!(sorted.len(), 50_000);
    rows.push(Row {
        what: "\"Near me\": order 50,000 cases by distance (`nearest_first`)".into(),
        result: format!("{:.1} ms", near.as_secs_f64() * 1e3),
        target: "—".into(),
        met: "—".into(),
        baseline: "—".into(),
    });

    println!(
        "Load average (start → end): {load_start} → {}\n",
        load_average()
    );
    println!("| # | Measurement | Result | Target | Met | Baseline (same run) |");
    println!("|---|---|---|---|---|---|");
    for (i, r) in rows.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            r.what,
            r.result,
            r.target,
            r.met,
            r.baseline
        );
    }
}

/// The synthetic area: a grid of 0.02° × 0.0125° cells from (-1.1, 52.0), roughly 1.4 km square
/// cells, 14 km × 7 km in all.
const CELL_LON: f64 = 0.02;
const CELL_LAT: f64 = 0.0125;
const LON0: f64 = -1.1;
const LAT0: f64 = 52.0;

fn area(cols: usize, rows: usize) -> (f64, f64, f64, f64) {
    (
        LON0,
        LAT0,
        LON0 + cols as f64 * CELL_LON,
        LAT0 + rows as f64 * CELL_LAT,
    )
}

/// The grid node (i, j) as longitude/latitude.
fn node(i: usize, j: usize) -> Coord<f64> {
    Coord {
        x: LON0 + i as f64 * CELL_LON,
        y: LAT0 + j as f64 * CELL_LAT,
    }
}

/// The points of the edge from node `a` to node `b`, `a` included and `b` excluded, wobbling
/// sideways by a few per cent of a cell. The wobble depends only on the edge (not its direction),
/// so the two wards either side of it share exactly the same vertices.
fn edge(a: (usize, usize), b: (usize, usize), n: usize) -> Vec<Coord<f64>> {
    let (lo, hi, reversed) = if a <= b { (a, b, false) } else { (b, a, true) };
    let (p, q) = (node(lo.0, lo.1), node(hi.0, hi.1));
    let seed = (lo.0 * 31 + lo.1 * 17 + hi.0 * 7 + hi.1) as f64;
    let (dx, dy) = (q.x - p.x, q.y - p.y);
    let len = dx.hypot(dy);
    let (nx, ny) = (-dy / len, dx / len);
    // Small enough that no ring crosses itself: within 0.0012° of the straight edge, and
    // within a narrow cone near each corner because of the sin(πt) envelope.
    let amplitude = 0.0012;
    let mut pts: Vec<Coord<f64>> = (0..=n)
        .map(|k| {
            let t = k as f64 / n as f64;
            let w = amplitude
                * (std::f64::consts::PI * t).sin()
                * (0.6 * (7.0 * std::f64::consts::PI * t + seed).sin()
                    + 0.4 * (23.0 * std::f64::consts::PI * t + 2.0 * seed).sin());
            Coord {
                x: p.x + dx * t + nx * w,
                y: p.y + dy * t + ny * w,
            }
        })
        .collect();
    if reversed {
        pts.reverse();
    }
    pts.pop();
    pts
}

/// `cols` × `rows` wards, each a ring of exactly `vertices` vertices (plus the closing one).
fn synthetic_wards(cols: usize, rows: usize, vertices: usize) -> Vec<(String, Polygon<f64>)> {
    let per_edge = vertices / 4;
    let mut wards = Vec::new();
    for j in 0..rows {
        for i in 0..cols {
            let mut ring = Vec::with_capacity(vertices + 1);
            ring.extend(edge((i, j), (i + 1, j), per_edge));
            ring.extend(edge((i + 1, j), (i + 1, j + 1), per_edge));
            ring.extend(edge((i + 1, j + 1), (i, j + 1), per_edge));
            ring.extend(edge((i, j + 1), (i, j), per_edge));
            let code = format!("E059{:05}", j * cols + i + 1);
            wards.push((code, Polygon::new(LineString::new(ring), Vec::new())));
        }
    }
    wards
}

fn geojson_text(wards: &[(String, Polygon<f64>)]) -> String {
    let features: Vec<serde_json::Value> = wards
        .iter()
        .map(|(code, polygon)| {
            let ring: Vec<[f64; 2]> = polygon.exterior().0.iter().map(|c| [c.x, c.y]).collect();
            serde_json::json!({
                "type": "Feature",
                "properties": { "WD24CD": code, "WD24NM": format!("Synthetic ward {code}") },
                "geometry": { "type": "Polygon", "coordinates": [ring] }
            })
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features }).to_string()
}

/// The baseline: the same exact test and rule as `WardIndex::ward_at`, against every ward.
fn brute_force(wards: &[(String, Polygon<f64>)], at: LatLon) -> Option<&str> {
    let coord = Coord {
        x: at.lon(),
        y: at.lat(),
    };
    let mut best: Option<(bool, &str)> = None;
    for (code, polygon) in wards {
        let on_boundary = match polygon.coordinate_position(&coord) {
            CoordPos::Inside => false,
            CoordPos::OnBoundary => true,
            CoordPos::Outside => continue,
        };
        let key = (on_boundary, code.as_str());
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    best.map(|(_, code)| code)
}

/// The baseline BNG conversion: WGS84 → OSGB36 by the single seven-parameter Helmert transform
/// of Ordnance Survey's "A guide to coordinate systems in Great Britain" (section 6.6), then the
/// National Grid Transverse Mercator on the Airy 1830 ellipsoid (Annex C). Heights taken as 0.
fn helmert_bng(lat: f64, lon: f64) -> (f64, f64) {
    const GRS80: (f64, f64) = (6_378_137.000, 6_356_752.314_1);
    const AIRY: (f64, f64) = (6_377_563.396, 6_356_256.909);
    let (phi, lambda) = (lat.to_radians(), lon.to_radians());
    // Geodetic to Cartesian on GRS80.
    let (a, b) = GRS80;
    let e2 = 1.0 - (b * b) / (a * a);
    let nu = a / (1.0 - e2 * phi.sin().powi(2)).sqrt();
    let x = nu * phi.cos() * lambda.cos();
    let y = nu * phi.cos() * lambda.sin();
    let z = (1.0 - e2) * nu * phi.sin();
    // Helmert, WGS84 to OSGB36.
    let (tx, ty, tz) = (-446.448, 125.157, -542.060);
    let s = 20.4894e-6;
    let arcsec = std::f64::consts::PI / (180.0 * 3600.0);
    let (rx, ry, rz) = (-0.1502 * arcsec, -0.2470 * arcsec, -0.8421 * arcsec);
    let x2 = tx + (1.0 + s) * x - rz * y + ry * z;
    let y2 = ty + rz * x + (1.0 + s) * y - rx * z;
    let z2 = tz - ry * x + rx * y + (1.0 + s) * z;
    // Cartesian to geodetic on Airy 1830.
    let (a, b) = AIRY;
    let e2 = 1.0 - (b * b) / (a * a);
    let p = x2.hypot(y2);
    let mut phi = z2.atan2(p * (1.0 - e2));
    for _ in 0..10 {
        let nu = a / (1.0 - e2 * phi.sin().powi(2)).sqrt();
        phi = (z2 + e2 * nu * phi.sin()).atan2(p);
    }
    let lambda = y2.atan2(x2);
    transverse_mercator(AIRY, phi, lambda)
}

/// National Grid Transverse Mercator (OS guide, Annex C) on the ellipsoid (a, b); radians in.
fn transverse_mercator((a, b): (f64, f64), phi: f64, lambda: f64) -> (f64, f64) {
    let (f0, e0, n0) = (0.999_601_271_7, 400_000.0, -100_000.0);
    let (phi0, lambda0) = (49.0_f64.to_radians(), (-2.0_f64).to_radians());
    let n = (a - b) / (a + b);
    let e2 = (a * a - b * b) / (a * a);
    let (s, c) = phi.sin_cos();
    let t2 = phi.tan().powi(2);
    let nu = a * f0 / (1.0 - e2 * s * s).sqrt();
    let rho = a * f0 * (1.0 - e2) * (1.0 - e2 * s * s).powf(-1.5);
    let eta2 = nu / rho - 1.0;
    let (dp, sp) = (phi - phi0, phi + phi0);
    let m = b
        * f0
        * ((1.0 + n + 1.25 * n * n + 1.25 * n.powi(3)) * dp
            - (3.0 * n + 3.0 * n * n + 21.0 / 8.0 * n.powi(3)) * dp.sin() * sp.cos()
            + (15.0 / 8.0 * n * n + 15.0 / 8.0 * n.powi(3)) * (2.0 * dp).sin() * (2.0 * sp).cos()
            - 35.0 / 24.0 * n.powi(3) * (3.0 * dp).sin() * (3.0 * sp).cos());
    let i = m + n0;
    let ii = nu / 2.0 * s * c;
    let iii = nu / 24.0 * s * c.powi(3) * (5.0 - t2 + 9.0 * eta2);
    let iiia = nu / 720.0 * s * c.powi(5) * (61.0 - 58.0 * t2 + t2 * t2);
    let iv = nu * c;
    let v = nu / 6.0 * c.powi(3) * (nu / rho - t2);
    let vi = nu / 120.0 * c.powi(5) * (5.0 - 18.0 * t2 + t2 * t2 + 14.0 * eta2 - 58.0 * t2 * eta2);
    let l = lambda - lambda0;
    let north = i + ii * l.powi(2) + iii * l.powi(4) + iiia * l.powi(6);
    let east = e0 + iv * l + v * l.powi(3) + vi * l.powi(5);
    (east, north)
}
