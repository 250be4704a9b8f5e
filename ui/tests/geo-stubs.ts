// Test doubles for what jsdom lacks: the device's position (navigator.geolocation) and the
// map (MapLibre needs WebGL 2). `fakeMaps` records every map a screen started, so a test can
// look at its style and data and click on it.
import { vi } from "vitest";
import type { StyleSpecification } from "@maplibre/maplibre-gl-style-spec";
import type { FeatureCollection } from "geojson";
import type { DrawnPin, MapClick, MapHandle } from "../src/lib/maplibre";
import type { MapView } from "../src/lib/map-style";
import type { LatLon } from "../src/lib/geo";

/** Where the test device is: a point, or a Geolocation error code (1 denied, 2 unavailable, 3 timeout). */
export function stubPosition(where: { lat: number; lon: number; accuracy?: number } | { code: 1 | 2 | 3 } | "none") {
  const getCurrentPosition = vi.fn((ok: PositionCallback, fail?: PositionErrorCallback | null) => {
    if (where === "none") return;
    if ("code" in where) fail?.({ code: where.code, message: "", PERMISSION_DENIED: 1, POSITION_UNAVAILABLE: 2, TIMEOUT: 3 } as GeolocationPositionError);
    else {
      ok({
        coords: { latitude: where.lat, longitude: where.lon, accuracy: where.accuracy ?? 12 } as GeolocationCoordinates,
        timestamp: Date.now(),
      } as GeolocationPosition);
    }
  });
  Object.defineProperty(navigator, "geolocation", {
    value: where === "none" ? undefined : { getCurrentPosition },
    configurable: true,
  });
  return getCurrentPosition;
}

export interface FakeMap {
  container: HTMLElement;
  style: StyleSpecification;
  view: MapView;
  label: string;
  data: Partial<Record<string, FeatureCollection>>;
  click: ((c: MapClick) => void) | null;
  /** The screen's listener for the map settling (call it with the pins "drawn"). */
  settled: ((pins: DrawnPin[]) => void) | null;
  centre: LatLon;
  /** The views the screen moved the map to after it opened. */
  shown: MapView[];
  /** Set it to say the person moved the map. */
  moved: boolean;
  removed: boolean;
}

export const fakeMaps: { started: FakeMap[]; fail: boolean } = { started: [], fail: false };

/** The stand-in for src/lib/maplibre (use with `vi.mock`). */
export function fakeMapModule() {
  class MapUnavailable extends Error {}
  return {
    MapUnavailable,
    mapSupported: () => !fakeMaps.fail,
    startMap: async (container: HTMLElement, style: StyleSpecification, view: MapView, label: string): Promise<MapHandle> => {
      if (fakeMaps.fail) throw new MapUnavailable("this webview has no WebGL 2");
      const m: FakeMap = {
        container,
        style,
        view,
        label,
        data: {},
        click: null,
        settled: null,
        centre: { lat: 52.0, lon: -1.0 },
        shown: [],
        moved: false,
        removed: false,
      };
      fakeMaps.started.push(m);
      return {
        setData: (source, data) => {
          m.data[source] = data;
        },
        onClick: (l) => {
          m.click = l;
        },
        centre: () => m.centre,
        show: (v) => {
          m.shown.push(v);
        },
        onSettled: (l) => {
          m.settled = l;
        },
        movedByPerson: () => m.moved,
        remove: () => {
          m.removed = true;
        },
      };
    },
  };
}

/** The map a screen started last. */
export function lastMap(): FakeMap {
  const m = fakeMaps.started[fakeMaps.started.length - 1];
  if (!m) throw new Error("no map was started");
  return m;
}
