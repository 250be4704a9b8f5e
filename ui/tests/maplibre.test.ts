// The parts of src/lib/maplibre.ts that need no WebGL: one more frame each time the map settles
// (WebKitGTK without accelerated compositing shows a WebGL canvas one frame late), and which
// case pins MapLibre drew, and where.
import { describe, expect, it } from "vitest";
import { drawnPins, redrawWhenSettled, type RenderedFeature, type Repaintable } from "../src/lib/maplibre";

/** A stand-in for a MapLibre map: its events, and how many frames were asked for. */
class FakeMap implements Repaintable {
  readonly listeners = new Map<string, Array<() => void>>();
  repaints = 0;
  on(type: string, listener: () => void): this {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
    return this;
  }
  fire(type: string): void {
    for (const l of this.listeners.get(type) ?? []) l();
  }
  triggerRepaint(): void {
    this.repaints += 1;
  }
}

describe("redrawWhenSettled", () => {
  it("draws one more frame after each change the map settles from, and never loops", () => {
    const map = new FakeMap();
    redrawWhenSettled(map);

    // The first time the map settles (its style and tiles drawn): one more frame.
    map.fire("idle");
    expect(map.repaints).toBe(1);
    // That frame changed nothing: the map settles again and asks for no other.
    map.fire("idle");
    map.fire("idle");
    expect(map.repaints).toBe(1);

    // New pins (a GeoJSON source's data), tiles loading in, a move, a resize: each once.
    for (const [change, n] of [["data", 2], ["move", 3], ["resize", 4]] as const) {
      map.fire(change);
      map.fire(change);
      map.fire("idle");
      map.fire("idle");
      expect(map.repaints).toBe(n);
    }
  });

  it("draws again when data comes while the extra frame is being drawn", () => {
    const map = new FakeMap();
    redrawWhenSettled(map);
    map.fire("idle");
    expect(map.repaints).toBe(1);
    map.fire("data"); // the pins' tiles arrive with the extra frame
    map.fire("idle");
    expect(map.repaints).toBe(2);
    map.fire("idle");
    expect(map.repaints).toBe(2);
  });
});

describe("drawnPins", () => {
  const point = (id: unknown, lon: number, lat: number, reference = `REF-${String(id)}`): RenderedFeature => ({
    properties: { id, reference, title: "A case" },
    geometry: { type: "Point", coordinates: [lon, lat] },
  });
  // A map 400 × 300 pixels, one degree a hundred pixels, (0, 0) at its top left.
  const project = ([lon, lat]: [number, number]) => ({ x: lon * 100, y: (3 - lat) * 100 });
  const size = { width: 400, height: 300 };

  it("gives each pin once, with where it is on the map in whole pixels", () => {
    const rendered = [point("a", 1.004, 2), point("b", 2, 1.5), point("a", 1.004, 2)];
    expect(drawnPins(rendered, project, size)).toEqual([
      { id: "a", reference: "REF-a", x: 100, y: 100 },
      { id: "b", reference: "REF-b", x: 200, y: 150 },
    ]);
  });

  it("leaves out pins outside the map's view and features that are not case pins", () => {
    const rendered: RenderedFeature[] = [
      point("west", -0.5, 2),
      point("south", 1, -1),
      point(7, 1, 2),
      { properties: null, geometry: { type: "Point", coordinates: [1, 2] } },
      { properties: { id: "line" }, geometry: { type: "LineString", coordinates: [[1, 2], [2, 2]] } },
      point("in", 3.99, 0.01),
    ];
    expect(drawnPins(rendered, project, size)).toEqual([{ id: "in", reference: "REF-in", x: 399, y: 299 }]);
    expect(drawnPins([], project, size)).toEqual([]);
  });
});
