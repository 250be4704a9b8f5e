//! Which electoral ward a point is in, from ward boundaries in GeoJSON.
//!
//! The boundaries are the Office for National Statistics' ward files (Open Geography Portal,
//! Open Government Licence v3: "Source: Office for National Statistics licensed under the Open
//! Government Licence v.3.0; contains OS data © Crown copyright and database right"), loaded by an
//! administrator; Fieldbook ships none. A file is a GeoJSON FeatureCollection with one Polygon or
//! MultiPolygon feature per ward. The ward's code and name are properties whose names carry the
//! year of the boundaries (`WD23CD`/`WD23NM`, `WD24CD`/`WD24NM`, in either case); any `WDnnCD` with
//! its `WDnnNM` is accepted, the latest year when a feature has several, else `code`/`name`.
//! Coordinates are WGS84 longitude/latitude (RFC 7946), unless the file declares the British
//! National Grid with the older `crs` member (`EPSG:27700` in any of its spellings), in which
//! case each vertex is converted with the inverse of OSTN15 ([`Bng::to_wgs84`]).
//!
//! Look-up: an R-tree (`rstar`) of the bounding box of every polygon finds the few candidates,
//! then an exact point-in-polygon test (`geo::CoordinatePosition`, planar in longitude/latitude,
//! as the files are drawn) decides. The rule for a point on a boundary is deterministic and does
//! not depend on the order of the file: a point inside a ward (not on its edge) is in that ward; a
//! point exactly on the boundary of one or more wards (a shared edge, a corner, the edge of a hole
//! another ward fills) is in the one of them with the smallest code. Should two wards overlap,
//! which ONS files never do, the smallest code wins there too. A point in a hole that no ward fills,
//! or outside every ward, is in no ward.

use std::collections::BTreeMap;

use ::geo::coordinate_position::{CoordPos, CoordinatePosition};
use ::geo::{BoundingRect, Coord, LineString, Polygon};
use geojson::{Feature, GeoJson, GeometryValue, JsonObject, PolygonType};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use crate::DomainError;
use crate::geo::{Bng, LatLon};

/// A ward's ONS code (e.g. `E05000001`) and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WardRef {
    pub code: String,
    pub name: String,
}

/// The wards of a boundary file, indexed for [`WardIndex::ward_at`].
#[derive(Debug)]
pub struct WardIndex {
    /// Sorted by code, so the smallest index is the smallest code.
    wards: Vec<WardRef>,
    /// Every polygon of every ward, with the index of its ward in `wards`.
    parts: Vec<(Polygon<f64>, usize)>,
    /// The bounding box of each of `parts`, with its index in `parts`.
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

/// How the file's coordinates are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Crs {
    Wgs84,
    BritishNationalGrid,
}

/// The longest ward code and name accepted; ONS codes are 9 characters.
const MAX_CODE: usize = 20;
const MAX_NAME: usize = 200;

impl WardIndex {
    /// Reads and checks a ward boundary file. Refused with [`DomainError::InvalidWardBoundaries`],
    /// naming the feature at fault, when the text is not a GeoJSON FeatureCollection, has no
    /// features, a feature has no ward code or name, a geometry is not a Polygon or MultiPolygon, a
    /// ring has fewer than three corners, a coordinate is impossible or outside the National Grid
    /// (for a BNG file), or one code is given two different names. Features with the same code and
    /// name are one ward.
    pub fn from_geojson(text: &str) -> Result<WardIndex, DomainError> {
        let whole = |reason: String| DomainError::InvalidWardBoundaries {
            feature: None,
            reason,
        };
        let geojson: GeoJson = text
            .parse()
            .map_err(|e| whole(format!("it is not valid GeoJSON ({e})")))?;
        let collection = match geojson {
            GeoJson::FeatureCollection(c) => c,
            GeoJson::Feature(_) => {
                return Err(whole(
                    "it is a single Feature; expected a FeatureCollection of wards".into(),
                ));
            }
            GeoJson::Geometry(g) => {
                return Err(whole(format!(
                    "it is a {} geometry; expected a FeatureCollection of wards",
                    g.value.type_name()
                )));
            }
        };
        let crs = file_crs(collection.foreign_members.as_ref()).map_err(whole)?;
        if collection.features.is_empty() {
            return Err(whole("it has no features".into()));
        }

        // code -> (name, number of its first feature, polygons), ordered by code.
        let mut by_code: BTreeMap<String, (String, usize, Vec<Polygon<f64>>)> = BTreeMap::new();
        for (i, feature) in collection.features.iter().enumerate() {
            let number = i + 1;
            let (code, name) = ward_code_and_name(feature).map_err(|reason| {
                DomainError::InvalidWardBoundaries {
                    feature: Some(feature_label(number, feature, None)),
                    reason,
                }
            })?;
            let label = || feature_label(number, feature, Some((&code, &name)));
            let polygons = feature_polygons(feature, crs).map_err(|reason| {
                DomainError::InvalidWardBoundaries {
                    feature: Some(label()),
                    reason,
                }
            })?;
            match by_code.get_mut(&code) {
                Some((known, _, parts)) if *known == name => parts.extend(polygons),
                Some((known, first, _)) => {
                    return Err(DomainError::InvalidWardBoundaries {
                        feature: Some(label()),
                        reason: format!(
                            "ward code {code} is also feature {first}, named '{known}'; one code must have one name"
                        ),
                    });
                }
                None => {
                    by_code.insert(code, (name, number, polygons));
                }
            }
        }

        let mut wards = Vec::with_capacity(by_code.len());
        let mut parts = Vec::new();
        for (ward, (code, (name, _, polygons))) in by_code.into_iter().enumerate() {
            wards.push(WardRef { code, name });
            parts.extend(polygons.into_iter().map(|p| (p, ward)));
        }
        let boxes = parts
            .iter()
            .enumerate()
            .filter_map(|(i, (polygon, _))| {
                let r = polygon.bounding_rect()?;
                let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                Some(GeomWithData::new(rect, i))
            })
            .collect();
        Ok(WardIndex {
            wards,
            parts,
            tree: RTree::bulk_load(boxes),
        })
    }

    /// The ward a point is in, by the rule in the [module documentation](self): inside beats on a
    /// boundary, and among wards the point is on the boundary of, the smallest code wins.
    pub fn ward_at(&self, at: LatLon) -> Option<&WardRef> {
        let coord = Coord {
            x: at.lon(),
            y: at.lat(),
        };
        let mut best: Option<(bool, usize)> = None;
        let query = AABB::from_point([coord.x, coord.y]);
        for candidate in self.tree.locate_in_envelope_intersecting(&query) {
            let (polygon, ward) = &self.parts[candidate.data];
            let on_boundary = match polygon.coordinate_position(&coord) {
                CoordPos::Inside => false,
                CoordPos::OnBoundary => true,
                CoordPos::Outside => continue,
            };
            // (false, _) < (true, _): inside first, then the smallest code.
            let key = (on_boundary, *ward);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|(_, ward)| &self.wards[ward])
    }

    /// Every ward, ordered by code.
    pub fn wards(&self) -> &[WardRef] {
        &self.wards
    }

    /// The number of wards.
    pub fn len(&self) -> usize {
        self.wards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.wards.is_empty()
    }

    /// The number of polygons across all wards (a MultiPolygon ward counts each of its parts).
    pub fn polygon_count(&self) -> usize {
        self.parts.len()
    }

    /// The wards as a GeoJSON FeatureCollection in WGS84 (whatever the file was written in), one
    /// MultiPolygon feature per ward with properties `code` and `name`, ordered by code: what a
    /// map draws.
    pub fn to_geojson(&self) -> String {
        let mut polygons: Vec<Vec<&Polygon<f64>>> = vec![Vec::new(); self.wards.len()];
        for (polygon, ward) in &self.parts {
            polygons[*ward].push(polygon);
        }
        let ring = |line: &LineString<f64>| -> Vec<[f64; 2]> {
            line.coords().map(|c| [c.x, c.y]).collect()
        };
        let features = self
            .wards
            .iter()
            .zip(polygons)
            .map(|(ward, parts)| {
                let multi = parts.into_iter().map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .map(ring)
                        .collect::<Vec<_>>()
                });
                let mut properties = JsonObject::new();
                properties.insert("code".into(), ward.code.clone().into());
                properties.insert("name".into(), ward.name.clone().into());
                Feature {
                    geometry: Some(geojson::Geometry::new_multi_polygon(multi)),
                    properties: Some(properties),
                    ..Default::default()
                }
            })
            .collect();
        GeoJson::FeatureCollection(geojson::FeatureCollection {
            features,
            bbox: None,
            foreign_members: None,
        })
        .to_string()
    }
}

/// "feature 3", with the feature's id and, once known, its ward code and name.
fn feature_label(number: usize, feature: &Feature, ward: Option<(&str, &str)>) -> String {
    let mut label = format!("feature {number}");
    if let Some((code, name)) = ward {
        label.push_str(&format!(" ({code} {name})"));
    } else if let Some(id) = &feature.id {
        let id = match id {
            geojson::feature::Id::String(s) => s.chars().take(40).collect(),
            geojson::feature::Id::Number(n) => n.to_string(),
        };
        label.push_str(&format!(" (id {id})"));
    }
    label
}

/// The coordinate system a file declares in the pre-RFC 7946 `crs` member; none means WGS84.
fn file_crs(foreign: Option<&JsonObject>) -> Result<Crs, String> {
    let Some(crs) = foreign.and_then(|f| f.get("crs")) else {
        return Ok(Crs::Wgs84);
    };
    let name = crs
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or(
            "its crs member has no properties.name; remove it or name EPSG:4326 or EPSG:27700",
        )?;
    // urn:ogc:def:crs:EPSG::27700, EPSG:27700, urn:ogc:def:crs:OGC:1.3:CRS84, EPSG:4326, ...
    let code = name
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    match code.as_str() {
        "27700" => Ok(Crs::BritishNationalGrid),
        "4326" | "CRS84" | "4258" => Ok(Crs::Wgs84),
        _ => Err(format!(
            "its coordinates are in {name}; use WGS84 longitude/latitude (EPSG:4326) or British National Grid (EPSG:27700)"
        )),
    }
}

/// The ward code and name: the latest `WDnnCD`/`WDnnNM` pair (any case), else `code`/`name`.
fn ward_code_and_name(feature: &Feature) -> Result<(String, String), String> {
    let props = feature
        .properties
        .as_ref()
        .ok_or("it has no properties, so no ward code and name")?;
    // year -> (code, name) by property name.
    let mut years: BTreeMap<&str, (Option<&str>, Option<&str>)> = BTreeMap::new();
    let mut plain = (None, None);
    for key in props.keys() {
        let upper = key.to_ascii_uppercase();
        let b = upper.as_bytes();
        if b.len() == 6 && upper.starts_with("WD") && b[2].is_ascii_digit() && b[3].is_ascii_digit()
        {
            let entry = years.entry(&key[2..4]).or_default();
            match &upper[4..] {
                "CD" => entry.0 = Some(key.as_str()),
                "NM" => entry.1 = Some(key.as_str()),
                _ => {}
            }
        } else if upper == "CODE" {
            plain.0 = Some(key.as_str());
        } else if upper == "NAME" {
            plain.1 = Some(key.as_str());
        }
    }
    // Two-digit years sort correctly from 2000 to 2099.
    let (code_key, name_key) = years
        .values()
        .rev()
        .find_map(|(c, n)| Some((c.as_ref()?, n.as_ref()?)))
        .map(|(c, n)| (*c, *n))
        .or_else(|| Some((plain.0?, plain.1?)))
        .ok_or("it has no ward code and name: expected properties WDnnCD and WDnnNM (e.g. WD24CD, WD24NM), or code and name")?;
    let text = |key: &str, what: &str, max: usize| -> Result<String, String> {
        let value = match props.get(key) {
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => return Err(format!("its {what} ({key}) is not text")),
        };
        if value.is_empty() {
            return Err(format!("its {what} ({key}) is empty"));
        }
        if value.chars().count() > max || value.chars().any(char::is_control) {
            return Err(format!(
                "its {what} ({key}) is not plain text of at most {max} characters"
            ));
        }
        Ok(value)
    };
    Ok((
        text(code_key, "ward code", MAX_CODE)?,
        text(name_key, "ward name", MAX_NAME)?,
    ))
}

/// The feature's polygons in longitude/latitude, checked.
fn feature_polygons(feature: &Feature, crs: Crs) -> Result<Vec<Polygon<f64>>, String> {
    let geometry = feature
        .geometry
        .as_ref()
        .ok_or("it has no geometry; a ward must be a Polygon or MultiPolygon")?;
    match &geometry.value {
        GeometryValue::Polygon { coordinates } => Ok(vec![polygon(coordinates, crs, None)?]),
        GeometryValue::MultiPolygon { coordinates } => {
            if coordinates.is_empty() {
                return Err("its MultiPolygon has no polygons".into());
            }
            coordinates
                .iter()
                .enumerate()
                .map(|(i, p)| polygon(p, crs, Some(i + 1)))
                .collect()
        }
        other => Err(format!(
            "its geometry is a {}; a ward must be a Polygon or MultiPolygon",
            other.type_name()
        )),
    }
}

fn polygon(rings: &PolygonType, crs: Crs, part: Option<usize>) -> Result<Polygon<f64>, String> {
    let at = |ring: usize| {
        let ring = if ring == 0 {
            "outer ring".to_string()
        } else {
            format!("hole {ring}")
        };
        match part {
            Some(p) => format!("polygon {p}, {ring}"),
            None => ring,
        }
    };
    let mut lines = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let mut coords = Vec::with_capacity(ring.len() + 1);
        for position in ring {
            let &[x, y, ..] = position.as_slice() else {
                return Err(format!("{} has a position without two coordinates", at(r)));
            };
            let point = match crs {
                Crs::Wgs84 => LatLon::new(y, x).map_err(|_| {
                    let hint = if x.abs() > 180.0 || y.abs() > 90.0 {
                        " (if these are British National Grid metres, declare \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:27700\"}})"
                    } else {
                        ""
                    };
                    format!("{} has the impossible longitude/latitude [{x}, {y}]{hint}", at(r))
                })?,
                Crs::BritishNationalGrid => Bng {
                    easting: x,
                    northing: y,
                }
                .to_wgs84()
                .map_err(|_| {
                    format!("{} has [{x}, {y}], outside the British National Grid", at(r))
                })?,
            };
            coords.push(Coord {
                x: point.lon(),
                y: point.lat(),
            });
        }
        // GeoJSON rings repeat their first position last; accept a ring that does not.
        if coords.len() > 1 && coords.first() == coords.last() {
            coords.pop();
        }
        if coords.len() < 3 {
            return Err(format!("{} has fewer than three corners", at(r)));
        }
        lines.push(LineString::new(coords));
    }
    let mut lines = lines.into_iter();
    let Some(exterior) = lines.next() else {
        return Err(format!("{} is missing", at(0)));
    };
    // Polygon::new closes each ring.
    Ok(Polygon::new(exterior, lines.collect()))
}
