// The one module that touches MapLibre GL JS. Screens talk to a `MapHandle`; tests replace this
// module (MapLibre needs WebGL 2, which jsdom and some webviews lack). MapLibre is loaded only
// when a map opens, so the app's own bundle does not carry it.
//
// Content Security Policy: MapLibre runs its work in a Web Worker. The worker script is copied
// out of the package as a file of the app (Vite's `?url`) and started from the app's own
// origin, so `worker-src 'self'` is enough (no `blob:` worker). Tiles are fetched with `fetch`
// from the shell's `fbtiles` protocol (`connect-src fbtiles: http://fbtiles.localhost`) and
// decoded with `createImageBitmap` (no `blob:` image unless the webview lacks it, when MapLibre
// falls back to a `blob:` `<img>`: `img-src blob:`). The control icons in MapLibre's CSS are
// `data:` SVGs (`img-src data:`). The style names no glyphs, sprite or remote source.
//
// Drawing in the desktop app: the shell turns WebKitGTK's accelerated compositing off
// (src-tauri/src/lib.rs), and then WebKitGTK (2.50, software rendering) shows a WebGL canvas one
// frame late: the page paints the frame drawn before the last one. MapLibre draws only when
// something changes, so whatever changed in its last frame (case pins that arrive just after the
// basemap, say) stayed unseen until the map was next moved. `redrawWhenSettled` draws one more,
// identical frame each time the map settles after a change.
import type { StyleSpecification } from "@maplibre/maplibre-gl-style-spec";
import type { FeatureCollection } from "geojson";
import type { LatLon } from "./geo";
import { CLICKABLE, type DataSource, type MapView } from "./map-style";

/** What a click or tap on the map found. */
export interface MapClick {
  /** Where on the map. */
  point: LatLon;
  /** A case pin under it, with its properties. */
  pin: { id: string; reference: string; title: string } | null;
  /** The ward it is in, when wards are drawn. */
  ward: { code: string; name: string } | null;
}

/** A case pin as the map drew it: which case, and where on the map (CSS pixels from its top left). */
export interface DrawnPin {
  id: string;
  reference: string;
  x: number;
  y: number;
}

/** A map on the screen. */
export interface MapHandle {
  /** Replace what one of the data sources shows. */
  setData(source: DataSource, data: FeatureCollection): void;
  /** Hear every click or tap (the latest listener only). */
  onClick(listener: (click: MapClick) => void): void;
  /** The point at the centre of the map (the place picked with the keyboard). */
  centre(): LatLon;
  /** Move to a view. */
  show(view: MapView): void;
  /**
   * Hear, each time the map has settled (everything loaded and drawn), the case pins it drew in
   * view (the latest listener only; it hears once soon after it is given).
   */
  onSettled(listener: (pins: DrawnPin[]) => void): void;
  /** Whether the person has moved or zoomed the map since it opened. */
  movedByPerson(): boolean;
  /** Take the map down (its worker, its WebGL context). */
  remove(): void;
}

/** Why a map could not start; the screen says "The map cannot be shown on this device". */
export class MapUnavailable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "MapUnavailable";
  }
}

/** Whether this webview can give MapLibre what it needs: WebGL 2 and Web Workers. */
export function mapSupported(): boolean {
  if (typeof window === "undefined" || typeof Worker === "undefined") return false;
  try {
    const canvas = document.createElement("canvas");
    return canvas.getContext("webgl2") !== null;
  } catch {
    return false;
  }
}

function cameraOf(view: MapView): { center: [number, number]; zoom: number } | { bounds: [number, number, number, number]; fitBoundsOptions: { padding: number; maxZoom: number } } {
  return view.kind === "centre"
    ? { center: [view.centre.lon, view.centre.lat], zoom: view.zoom }
    : { bounds: view.bounds, fitBoundsOptions: { padding: 40, maxZoom: view.maxZoom } };
}

const LOAD_TIMEOUT_MS = 20_000;

/** The part of a MapLibre map `redrawWhenSettled` uses. */
export interface Repaintable {
  on(type: "data" | "move" | "resize" | "idle", listener: () => void): unknown;
  triggerRepaint(): void;
}

/**
 * Draw the map once more each time it settles after a change (new data, tiles, a move or a
 * resize), so a webview that shows the canvas one frame late (see the top of this file) shows
 * the last change too. The extra frame is the same as the one before and changes nothing, so it
 * asks for no frame after it: one extra frame per change, never a loop.
 */
export function redrawWhenSettled(map: Repaintable): void {
  let changed = true;
  const mark = () => {
    changed = true;
  };
  map.on("data", mark);
  map.on("move", mark);
  map.on("resize", mark);
  map.on("idle", () => {
    if (!changed) return;
    changed = false;
    map.triggerRepaint();
  });
}

/** A feature as `queryRenderedFeatures` gives it (only what `drawnPins` reads). */
export interface RenderedFeature {
  properties: Record<string, unknown> | null;
  geometry: { type: string; coordinates?: unknown };
}

/**
 * The case pins a map drew in view, once each (a pin near a tile's edge is drawn in both tiles),
 * with where they are on the map: from the features MapLibre rendered in the pins' layer.
 */
export function drawnPins(
  rendered: readonly RenderedFeature[],
  project: (lonLat: [number, number]) => { x: number; y: number },
  size: { width: number; height: number },
): DrawnPin[] {
  const seen = new Map<string, DrawnPin>();
  for (const f of rendered) {
    const id = f.properties?.id;
    const c = f.geometry.type === "Point" ? f.geometry.coordinates : null;
    if (typeof id !== "string" || seen.has(id) || !Array.isArray(c)) continue;
    const [lon, lat] = c as unknown[];
    if (typeof lon !== "number" || typeof lat !== "number") continue;
    const { x, y } = project([lon, lat]);
    if (x < 0 || y < 0 || x > size.width || y > size.height) continue;
    seen.set(id, { id, reference: String(f.properties?.reference ?? ""), x: Math.round(x), y: Math.round(y) });
  }
  return [...seen.values()];
}

/**
 * Start a map in `container` with a style built in code. Rejects with `MapUnavailable` when
 * the webview cannot draw it (no WebGL 2, a worker that will not start, a style refused).
 */
export async function startMap(
  container: HTMLElement,
  style: StyleSpecification,
  view: MapView,
  label: string,
): Promise<MapHandle> {
  if (!mapSupported()) throw new MapUnavailable("this webview has no WebGL 2");
  let lib: typeof import("maplibre-gl");
  try {
    lib = await import("maplibre-gl");
    await import("maplibre-gl/dist/maplibre-gl.css");
    const { default: workerUrl } = await import("maplibre-gl/dist/maplibre-gl-worker.mjs?url");
    lib.setWorkerUrl(workerUrl);
  } catch (e) {
    throw new MapUnavailable(`MapLibre could not be loaded: ${String(e)}`);
  }
  let map: import("maplibre-gl").Map;
  try {
    map = new lib.Map({
      container,
      style: style as import("maplibre-gl").MapOptions["style"],
      ...cameraOf(view),
      attributionControl: { compact: true },
      // Keyboard: arrows pan, + and - zoom, as MapLibre gives; no rotation to get lost in.
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      maxZoom: 20,
    });
  } catch (e) {
    throw new MapUnavailable(`the map could not start: ${String(e)}`);
  }
  map.getCanvas().setAttribute("aria-label", label);
  map.addControl(new lib.NavigationControl({ showCompass: false }), "top-right");
  map.touchZoomRotate.disableRotation();
  redrawWhenSettled(map);
  let moved = false;
  // Moves a person makes (drag, wheel, keys, the zoom buttons) carry the event that made them.
  map.on("movestart", (e) => {
    if (e.originalEvent) moved = true;
  });

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      map.remove();
      reject(new MapUnavailable("the map did not finish loading"));
    }, LOAD_TIMEOUT_MS);
    // A tile that fails is only a gap in the map; anything else before "load" means no map.
    const failed = (e: import("maplibre-gl").ErrorEvent) => {
      if ("sourceId" in e || "tile" in e) return;
      clearTimeout(timer);
      map.off("error", failed);
      map.remove();
      reject(new MapUnavailable(`the map could not load: ${e.error?.message ?? "unknown error"}`));
    };
    map.on("error", failed);
    map.once("load", () => {
      clearTimeout(timer);
      map.off("error", failed);
      resolve();
    });
  });

  let listener: (click: MapClick) => void = () => {};
  map.on("click", (e) => {
    const { x, y } = e.point;
    const near: [[number, number], [number, number]] = [
      [x - 10, y - 10],
      [x + 10, y + 10],
    ];
    const pins = map.queryRenderedFeatures(near, { layers: [CLICKABLE.cases] });
    const wards = map.queryRenderedFeatures(e.point, { layers: [CLICKABLE.wards] });
    const p = pins[0]?.properties;
    const w = wards[0]?.properties;
    listener({
      point: { lat: e.lngLat.lat, lon: e.lngLat.lng },
      pin: p ? { id: String(p.id), reference: String(p.reference), title: String(p.title) } : null,
      ward: w ? { code: String(w.code), name: String(w.name) } : null,
    });
  });
  let settled: (pins: DrawnPin[]) => void = () => {};
  map.on("idle", () => {
    const canvas = map.getCanvas();
    settled(
      drawnPins(
        map.queryRenderedFeatures({ layers: [CLICKABLE.cases] }),
        (lonLat) => map.project(lonLat),
        { width: canvas.clientWidth, height: canvas.clientHeight },
      ),
    );
  });
  map.on("mouseenter", CLICKABLE.cases, () => map.getCanvas().classList.add("fb-map__canvas--pointer"));
  map.on("mouseleave", CLICKABLE.cases, () => map.getCanvas().classList.remove("fb-map__canvas--pointer"));

  return {
    setData(source, data) {
      const s = map.getSource(source);
      if (s && "setData" in s && typeof s.setData === "function") (s as { setData(d: FeatureCollection): void }).setData(data);
    },
    onClick(l) {
      listener = l;
    },
    centre() {
      const c = map.getCenter();
      return { lat: c.lat, lon: c.lng };
    },
    show(v) {
      if (v.kind === "centre") map.jumpTo({ center: [v.centre.lon, v.centre.lat], zoom: v.zoom });
      else map.fitBounds(v.bounds, { padding: 40, maxZoom: v.maxZoom, animate: false });
    },
    onSettled(l) {
      settled = l;
      // An idle event comes after the next frame, even when nothing changes.
      map.triggerRepaint();
    },
    movedByPerson() {
      return moved;
    },
    remove() {
      map.remove();
    },
  };
}
