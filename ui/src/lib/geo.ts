// Small geometry in WGS84 degrees, for the map and the mock device: distances, bounding boxes,
// and which ward (from a GeoJSON FeatureCollection of the device's ward boundaries) holds a point.
// Nothing here talks to anything; the device itself does the exact work (OSTN15, `geo` crate).

/** A point as the device API gives it. */
export interface LatLon {
  lat: number;
  lon: number;
}

/** West, south, east, north. */
export type Bounds = [number, number, number, number];

const EARTH_RADIUS_M = 6_371_008.8;

/**
 * Great-circle distance in metres (haversine, on a sphere): the mock device's approximation of
 * the device's own, geodesic distance on the WGS84 ellipsoid (they differ by up to about 0.5%).
 */
export function distanceM(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Whether a pair of numbers is a possible WGS84 point. */
export function isPoint(lat: number, lon: number): boolean {
  return Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
}

// ------------------------------------------------------------------ GeoJSON

export type Position = [number, number];
type Ring = Position[];
type PolygonCoords = Ring[];

export interface WardFeature {
  code: string;
  name: string;
  /** Polygons, each an outer ring then its holes, as [lon, lat]. */
  polygons: PolygonCoords[];
}

function isPosition(v: unknown): v is Position {
  return Array.isArray(v) && v.length >= 2 && typeof v[0] === "number" && typeof v[1] === "number";
}

function isRing(v: unknown): v is Ring {
  return Array.isArray(v) && v.length >= 4 && v.every(isPosition);
}

function isPolygon(v: unknown): v is PolygonCoords {
  return Array.isArray(v) && v.length >= 1 && v.every(isRing);
}

/**
 * The wards of a GeoJSON FeatureCollection (the device gives one MultiPolygon per ward, with
 * properties `code` and `name`; a Polygon is taken too). Anything unreadable gives none: the
 * map then simply shows no boundaries.
 */
export function readWards(geojson: string | null): WardFeature[] {
  if (geojson === null || geojson.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(geojson);
  } catch {
    return [];
  }
  if (typeof parsed !== "object" || parsed === null) return [];
  const features = (parsed as { features?: unknown }).features;
  if (!Array.isArray(features)) return [];
  const out: WardFeature[] = [];
  for (const f of features) {
    if (typeof f !== "object" || f === null) continue;
    const props = ((f as { properties?: unknown }).properties ?? {}) as Record<string, unknown>;
    const geometry = (f as { geometry?: unknown }).geometry as { type?: unknown; coordinates?: unknown } | null;
    if (!geometry) continue;
    let polygons: PolygonCoords[] = [];
    if (geometry.type === "Polygon" && isPolygon(geometry.coordinates)) polygons = [geometry.coordinates];
    else if (geometry.type === "MultiPolygon" && Array.isArray(geometry.coordinates)) {
      polygons = geometry.coordinates.filter(isPolygon);
    }
    if (polygons.length === 0) continue;
    const code = typeof props.code === "string" ? props.code : "";
    const name = typeof props.name === "string" ? props.name : code;
    out.push({ code, name, polygons });
  }
  return out;
}

function inRing(p: Position, ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The ward whose boundary holds the point (outer ring in, not in a hole), if any. */
export function wardAt(wards: readonly WardFeature[], point: LatLon): WardFeature | null {
  const p: Position = [point.lon, point.lat];
  for (const w of wards) {
    for (const [outer, ...holes] of w.polygons) {
      if (outer && inRing(p, outer) && !holes.some((h) => inRing(p, h))) return w;
    }
  }
  return null;
}

/** The smallest box holding every point, or null when there are none. */
export function boundsOf(points: Iterable<Position>): Bounds | null {
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  for (const [lon, lat] of points) {
    w = Math.min(w, lon);
    e = Math.max(e, lon);
    s = Math.min(s, lat);
    n = Math.max(n, lat);
  }
  return Number.isFinite(w) ? [w, s, e, n] : null;
}

/** Every corner of every ward's outer rings. */
export function* wardPositions(wards: readonly WardFeature[]): Generator<Position> {
  for (const w of wards) for (const poly of w.polygons) yield* poly[0] ?? [];
}
