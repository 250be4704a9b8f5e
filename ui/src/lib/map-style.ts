// The map's style and data, built in code as plain objects (pure functions, tested without a
// map). Nothing here names a remote server: no glyphs, no sprite, no fonts, so nothing is
// fetched to draw text or icons (pins are circles, names are shown beside the map, not on it).
// The only source with an address is the basemap, and only when the device has a basemap pack
// or a council tile server is configured; its address is the shell's `fbtiles` protocol.
import type { StyleSpecification } from "@maplibre/maplibre-gl-style-spec";
import type { Feature, FeatureCollection, MultiPolygon, Point } from "geojson";
import type { MapDto } from "../bindings/MapDto";
import { boundsOf, readWards, wardPositions, type Bounds, type LatLon, type Position, type WardFeature } from "./geo";

/** GOV.UK colours for what the map draws (the map needs its own: it is a canvas). */
export const MAP_COLOURS = {
  /** Where there are no tiles: GOV.UK light grey. */
  background: "#f3f2f1",
  wardLine: "#505a5f",
  wardFill: "#1d70b8",
  case: "#1d70b8",
  position: "#00703c",
  picked: "#d4351c",
  outline: "#ffffff",
} as const;

/** The sources whose data changes while the map is open. */
export type DataSource = "cases" | "position" | "picked";

/** The layers a click can hit. */
export const CLICKABLE = { cases: "cases", wards: "ward-fill" } as const;

/** A case as the map shows it. */
export interface MapPin {
  id: string;
  reference: string;
  title: string;
  lat: number;
  lon: number;
}

/** Where the map opens: a box to fit, or a centre and zoom. */
export type MapView =
  | { kind: "bounds"; bounds: Bounds; maxZoom: number }
  | { kind: "centre"; centre: LatLon; zoom: number };

/** Great Britain as a whole, when there is nothing else to open on. */
export const GREAT_BRITAIN: MapView = { kind: "centre", centre: { lat: 54.0, lon: -2.5 }, zoom: 5 };

/** Whether the map draws tiles: a basemap pack, or the council's tile server. */
export function usesTiles(info: MapDto): boolean {
  return info.basemap !== null || info.online_tiles;
}

const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

/** The wards as the map's GeoJSON (one MultiPolygon each, with `code` and `name`). */
export function wardsGeoJson(wards: readonly WardFeature[]): FeatureCollection<MultiPolygon> {
  return {
    type: "FeatureCollection",
    features: wards.map(
      (w): Feature<MultiPolygon> => ({
        type: "Feature",
        properties: { code: w.code, name: w.name },
        geometry: { type: "MultiPolygon", coordinates: w.polygons },
      }),
    ),
  };
}

/** Case pins as GeoJSON points (`id`, `reference`, `title` in the properties). */
export function pinsGeoJson(pins: readonly MapPin[]): FeatureCollection<Point> {
  return {
    type: "FeatureCollection",
    features: pins.map(
      (p): Feature<Point> => ({
        type: "Feature",
        properties: { id: p.id, reference: p.reference, title: p.title },
        geometry: { type: "Point", coordinates: [p.lon, p.lat] },
      }),
    ),
  };
}

/** One point (the officer, or the place picked), or nothing. */
export function pointGeoJson(p: LatLon | null): FeatureCollection<Point> {
  return {
    type: "FeatureCollection",
    features: p === null ? [] : [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [p.lon, p.lat] } }],
  };
}

/** The cases that can be pinned: those with a location. */
export function pinnable<T extends { lat: number | null; lon: number | null }>(cases: readonly T[]): Array<T & LatLon> {
  return cases.filter((c): c is T & LatLon => c.lat !== null && c.lon !== null);
}

/** What the map draws from its first frame, before any `setData`. */
export interface FirstData {
  pins?: readonly MapPin[];
  picked?: LatLon | null;
}

/**
 * The whole style: a background colour; the basemap's raster tiles when the device has any;
 * ward outlines (with a faint fill, so a click inside a ward finds it); then the case pins,
 * the officer's position and the place picked, as circles. The pins and the place picked known
 * when the map opens are in the style itself, so they are drawn with the first frames (and the
 * map counts as loaded only once they are), not in a later update.
 */
export function buildStyle(
  info: MapDto,
  tileUrl: string,
  wards: readonly WardFeature[] = readWards(info.wards),
  first: FirstData = {},
): StyleSpecification {
  const style: StyleSpecification = {
    version: 8,
    name: "Fieldbook offline",
    sources: {
      wards: { type: "geojson", data: wardsGeoJson(wards) },
      cases: { type: "geojson", data: first.pins && first.pins.length > 0 ? pinsGeoJson(first.pins) : EMPTY },
      position: { type: "geojson", data: EMPTY },
      picked: { type: "geojson", data: first.picked ? pointGeoJson(first.picked) : EMPTY },
    },
    layers: [{ id: "background", type: "background", paint: { "background-color": MAP_COLOURS.background } }],
  };
  if (usesTiles(info)) {
    const b = info.basemap;
    style.sources.basemap = {
      type: "raster",
      tiles: [tileUrl],
      tileSize: 256,
      minzoom: b?.min_zoom ?? 0,
      // Past the pack's own zoom its tiles are stretched; a tile server goes to street level.
      maxzoom: b?.max_zoom ?? 19,
      ...(b?.bounds && !info.online_tiles ? { bounds: b.bounds } : {}),
      ...(b?.attribution ? { attribution: b.attribution } : {}),
    };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  style.layers.push(
    {
      id: CLICKABLE.wards,
      type: "fill",
      source: "wards",
      paint: { "fill-color": MAP_COLOURS.wardFill, "fill-opacity": 0.04 },
    },
    {
      id: "ward-outline",
      type: "line",
      source: "wards",
      paint: { "line-color": MAP_COLOURS.wardLine, "line-width": 2, "line-dasharray": [3, 2] },
    },
    {
      id: CLICKABLE.cases,
      type: "circle",
      source: "cases",
      paint: {
        "circle-radius": 7,
        "circle-color": MAP_COLOURS.case,
        "circle-stroke-color": MAP_COLOURS.outline,
        "circle-stroke-width": 2,
      },
    },
    {
      id: "position",
      type: "circle",
      source: "position",
      paint: {
        "circle-radius": 8,
        "circle-color": MAP_COLOURS.position,
        "circle-stroke-color": MAP_COLOURS.outline,
        "circle-stroke-width": 3,
      },
    },
    {
      id: "picked",
      type: "circle",
      source: "picked",
      paint: {
        "circle-radius": 9,
        "circle-color": MAP_COLOURS.picked,
        "circle-stroke-color": "#0b0c0c",
        "circle-stroke-width": 2,
      },
    },
  );
  return style;
}

/**
 * Where the map opens: on a given point (the case's own place) close up; else around the pins;
 * else the basemap's centre or bounds; else the wards; else all of Great Britain.
 */
export function initialView(
  info: MapDto,
  pins: readonly MapPin[],
  focus: LatLon | null = null,
  wards: readonly WardFeature[] = readWards(info.wards),
): MapView {
  if (focus !== null) return { kind: "centre", centre: focus, zoom: 16 };
  const pinBox = boundsOf(pins.map((p): Position => [p.lon, p.lat]));
  if (pinBox !== null) return { kind: "bounds", bounds: pinBox, maxZoom: 16 };
  const b = info.basemap;
  if (b?.center) return { kind: "centre", centre: { lon: b.center[0], lat: b.center[1] }, zoom: b.center[2] };
  if (b?.bounds) return { kind: "bounds", bounds: b.bounds, maxZoom: b.max_zoom };
  const wardBox = boundsOf(wardPositions(wards));
  if (wardBox !== null) return { kind: "bounds", bounds: wardBox, maxZoom: 15 };
  return GREAT_BRITAIN;
}
