// The map: its style and data as pure functions (valid MapLibre style, nothing remote), and the
// map screens with MapLibre replaced (jsdom has no WebGL): the Map view of My cases, selecting a
// case or a ward, the officer's position, and the message when the map cannot start.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { validateStyleMin } from "@maplibre/maplibre-gl-style-spec";
import Cases, { forgetCaseFilters } from "../src/screens/Cases.svelte";
import { MockBackend } from "../src/lib/mock-backend";
import { listArgs } from "../src/lib/backend";
import { GREAT_BRITAIN, buildStyle, initialView, pinnable, pinsGeoJson, pointGeoJson, usesTiles } from "../src/lib/map-style";
import { readWards } from "../src/lib/geo";
import { MILLBROOK_WARDS } from "../src/lib/mock-geo";
import type { MapDto } from "../src/bindings/MapDto";
import type { NewCaseArgs } from "../src/bindings/NewCaseArgs";
import type { BasemapDto } from "../src/bindings/BasemapDto";
import type { Route } from "../src/lib/router.svelte";
import { fakeMaps, lastMap, stubPosition, type FakeMap } from "./geo-stubs";
import type { FeatureCollection } from "geojson";
import { expectAccessible } from "./axe";

vi.mock("../src/lib/maplibre", async () => (await import("./geo-stubs")).fakeMapModule());

const TILES = "fbtiles://localhost/{z}/{x}/{y}";

/** The case pins a fake map shows: the last `setData`, else those in its style. */
function pinsIn(map: FakeMap): Array<{ properties: Record<string, unknown> | null }> {
  const source = map.style.sources.cases as unknown as { data: FeatureCollection };
  return (map.data.cases ?? source.data).features;
}
const PACK: BasemapDto = {
  name: "Millbrook OS Open Zoomstack",
  format: "png",
  min_zoom: 8,
  max_zoom: 17,
  bounds: [-1.1, 51.9, -0.9, 52.1],
  center: [-1.0, 52.0, 14],
  attribution: "Contains OS data © Crown copyright and database right 2026",
};

function info(over: Partial<MapDto> = {}): MapDto {
  return { basemap: null, online_tiles: false, wards: null, ...over };
}

// ------------------------------------------------------------------ the style

describe("the map's style", () => {
  it("is a valid MapLibre style naming nothing remote: no glyphs, no sprite, circles for pins", () => {
    const style = buildStyle(info({ wards: MILLBROOK_WARDS }), TILES);
    expect(validateStyleMin(style)).toEqual([]);
    expect(style).not.toHaveProperty("glyphs");
    expect(style).not.toHaveProperty("sprite");
    expect(JSON.stringify(style)).not.toMatch(/https?:|fbtiles/);
    expect(style.layers.some((l) => l.type === "symbol")).toBe(false);
    expect(style.layers.map((l) => [l.id, l.type])).toEqual([
      ["background", "background"],
      ["ward-fill", "fill"],
      ["ward-outline", "line"],
      ["cases", "circle"],
      ["position", "circle"],
      ["picked", "circle"],
    ]);
    const wards = style.sources.wards as unknown as { data: { features: Array<{ properties: { name: string } }> } };
    expect(wards.data.features.map((f) => f.properties.name)).toEqual(["Millbrook North", "Millbrook South", "Millbrook East and Islands"]);
  });

  it("draws the basemap pack's tiles through the fbtiles protocol, within the pack's zooms and bounds", () => {
    const style = buildStyle(info({ basemap: PACK }), TILES);
    expect(validateStyleMin(style)).toEqual([]);
    expect(style.sources.basemap).toEqual({
      type: "raster",
      tiles: [TILES],
      tileSize: 256,
      minzoom: 8,
      maxzoom: 17,
      bounds: [-1.1, 51.9, -0.9, 52.1],
      attribution: PACK.attribution,
    });
    expect(style.layers[1]).toEqual({ id: "basemap", type: "raster", source: "basemap" });
  });

  it("draws tiles from the council's tile server only when one is configured", () => {
    expect(usesTiles(info())).toBe(false);
    expect(usesTiles(info({ online_tiles: true }))).toBe(true);
    const style = buildStyle(info({ online_tiles: true }), TILES);
    expect(style.sources.basemap).toEqual({ type: "raster", tiles: [TILES], tileSize: 256, minzoom: 0, maxzoom: 19 });
    expect(validateStyleMin(style)).toEqual([]);
  });

  it("draws the pins and the place picked known when the map opens from its first frame", () => {
    const pins = [
      { id: "a", reference: "FH-1", title: "Cafe", lat: 52.01, lon: -1.01 },
      { id: "b", reference: "FH-2", title: "Shop", lat: 51.99, lon: -0.99 },
    ];
    const style = buildStyle(info({ basemap: PACK }), TILES, [], { pins, picked: { lat: 52, lon: -1 } });
    expect(validateStyleMin(style)).toEqual([]);
    expect(style.sources.cases).toEqual({ type: "geojson", data: pinsGeoJson(pins) });
    expect(style.sources.picked).toEqual({ type: "geojson", data: pointGeoJson({ lat: 52, lon: -1 }) });
    expect(style.sources.position).toEqual({ type: "geojson", data: pointGeoJson(null) });
    const none = buildStyle(info(), TILES);
    expect(none.sources.cases).toEqual({ type: "geojson", data: pinsGeoJson([]) });
    expect(none.sources.picked).toEqual({ type: "geojson", data: pointGeoJson(null) });
  });

  it("makes pins of the cases that have a location", () => {
    const cases = [
      { id: "a", reference: "FH-1", title: "Cafe", lat: 52, lon: -1 },
      { id: "b", reference: "FH-2", title: "Shop", lat: null, lon: null },
    ];
    const pins = pinnable(cases);
    expect(pins.map((p) => p.id)).toEqual(["a"]);
    expect(pinsGeoJson(pins)).toEqual({
      type: "FeatureCollection",
      features: [{ type: "Feature", properties: { id: "a", reference: "FH-1", title: "Cafe" }, geometry: { type: "Point", coordinates: [-1, 52] } }],
    });
    expect(pointGeoJson(null).features).toEqual([]);
    expect(pointGeoJson({ lat: 1, lon: 2 }).features[0]!.geometry.coordinates).toEqual([2, 1]);
  });

  it("opens on the case, else around the pins, else the pack, else the wards, else Great Britain", () => {
    const pin = { id: "a", reference: "FH-1", title: "Cafe", lat: 52.01, lon: -1.01 };
    const pin2 = { ...pin, id: "b", lat: 51.99, lon: -0.99 };
    expect(initialView(info(), [pin], { lat: 52, lon: -1 })).toEqual({ kind: "centre", centre: { lat: 52, lon: -1 }, zoom: 16 });
    expect(initialView(info(), [pin, pin2])).toEqual({ kind: "bounds", bounds: [-1.01, 51.99, -0.99, 52.01], maxZoom: 16 });
    expect(initialView(info({ basemap: PACK }), [])).toEqual({ kind: "centre", centre: { lon: -1, lat: 52 }, zoom: 14 });
    expect(initialView(info({ basemap: { ...PACK, center: null } }), [])).toEqual({ kind: "bounds", bounds: PACK.bounds, maxZoom: 17 });
    expect(initialView(info({ wards: MILLBROOK_WARDS }), [])).toEqual({ kind: "bounds", bounds: [-1.02, 51.98, -0.95, 52.02], maxZoom: 15 });
    expect(initialView(info(), [])).toEqual(GREAT_BRITAIN);
    expect(readWards(MILLBROOK_WARDS)).toHaveLength(3);
  });
});

// ------------------------------------------------------------------ My cases, as a map

describe("My cases: the map view", () => {
  beforeEach(() => {
    forgetCaseFilters();
    fakeMaps.started = [];
    fakeMaps.fail = false;
  });
  afterEach(() => {
    Object.defineProperty(navigator, "geolocation", { value: undefined, configurable: true });
  });

  it("shows the cases with a location as pins, the wards, and the officer's position", async () => {
    const user = userEvent.setup();
    stubPosition({ lat: 52.001, lon: -1.002 });
    const backend = new MockBackend({ cases: 40, unlocked: true, backgroundSync: false });
    const go = vi.fn<(r: Route) => void>();
    render(Cases, { backend, go });
    await screen.findByText("Showing 1 to 40 of 40 cases");

    const mapTab = screen.getByRole("tab", { name: "Map" });
    expect(screen.getByRole("tab", { name: "List" })).toHaveAttribute("aria-selected", "true");
    await user.click(mapTab);
    expect(mapTab).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tabpanel", { name: "List" })).toHaveClass("govuk-tabs__panel--hidden");

    await waitFor(() => expect(fakeMaps.started).toHaveLength(1));
    const map = lastMap();
    expect(map.container).toBe(screen.getByTestId("map"));
    expect(map.label).toBe("Map of the cases");
    const all = await backend.listCases(listArgs({ limit: 500 }));
    const located = all.cases.filter((c) => c.lat !== null);
    expect(located.length).toBeGreaterThan(0);
    expect(located.length).toBeLessThan(40);
    // The pins known when the map opens are in its style, drawn with its first frames (not sent again).
    expect(pinsIn(map)).toHaveLength(located.length);
    await waitFor(() => expect(map.data.position?.features).toHaveLength(1));
    expect(map.data.cases).toBeUndefined();
    expect(map.view.kind).toBe("bounds");
    expect(screen.getByTestId("map-count")).toHaveTextContent(`${located.length} cases on the map`);
    expect(screen.getByText(`${40 - located.length} cases have no location, so they are not on the map.`)).toBeInTheDocument();
    await expectAccessible();

    // Selecting a pin names the case, with a link to it; a ward is named too.
    const c = located[0]!;
    map.click!({ point: { lat: c.lat!, lon: c.lon! }, pin: { id: c.id, reference: c.reference, title: c.title }, ward: { code: "E05900001", name: "Millbrook North" } });
    const selection = await screen.findByTestId("map-selection");
    await waitFor(() => expect(selection).toHaveTextContent(c.title));
    expect(within(selection).getByTestId("map-ward")).toHaveTextContent("Ward: Millbrook North (E05900001)");
    await user.click(within(selection).getByRole("link", { name: `Open case ${c.reference}` }));
    expect(go).toHaveBeenCalledWith({ name: "case", reference: c.reference });

    // The arrow keys move between the tabs; the choice is kept when the screen comes back.
    mapTab.focus();
    await user.keyboard("{ArrowLeft}");
    expect(screen.getByRole("tab", { name: "List" })).toHaveFocus();
    expect(screen.getByRole("tabpanel", { name: "List" })).not.toHaveClass("govuk-tabs__panel--hidden");
  });

  /** Cases another device made, with a location, that the next sync brings. */
  const synced = (points: Array<[number, number]>): NewCaseArgs[] =>
    points.map(([lat, lon], i) => ({
      kind: "general",
      title: `Synced case ${i + 1}`,
      address: null,
      postcode: null,
      uprn: null,
      lat,
      lon,
      accuracy_m: null,
      location_source: "gazetteer",
      due: null,
    }));

  it("moves to the pins when a sync brings the first cases with a location, and says what it drew", async () => {
    const user = userEvent.setup();
    stubPosition({ code: 1 });
    const incoming = synced([
      [52.0063, -1.0098],
      [52.0021, -0.9962],
      [51.9978, -1.0031],
    ]);
    const backend = new MockBackend({ cases: 0, unlocked: true, signedIn: true, backgroundSync: false, server: { incoming } });
    render(Cases, { backend, go: () => {} });
    await screen.findByText("No cases");
    await user.click(screen.getByRole("tab", { name: "Map" }));
    await waitFor(() => expect(fakeMaps.started).toHaveLength(1));
    const map = lastMap();
    // Nothing to pin yet: the map opens on the wards.
    expect(map.view).toEqual({ kind: "bounds", bounds: [-1.02, 51.98, -0.95, 52.02], maxZoom: 15 });
    expect(await screen.findByTestId("map-count")).toHaveTextContent("No cases with a location to show.");
    expect(screen.getByTestId("map")).not.toHaveAttribute("data-pins-drawn");

    await backend.syncNow();
    await waitFor(() => expect(pinsIn(map)).toHaveLength(3));
    expect(screen.getByTestId("map-count")).toHaveTextContent("3 cases on the map.");
    expect(map.shown).toEqual([{ kind: "bounds", bounds: [-1.0098, 51.9978, -0.9962, 52.0063], maxZoom: 16 }]);

    // Once the map has settled it says which pins it drew, and where (for tests in a real webview).
    const page = await backend.listCases(listArgs());
    const drawn = page.cases.slice(0, 2).map((c, i) => ({ id: c.id, reference: c.reference, x: 100 + i, y: 50 + i }));
    map.settled!(drawn);
    await waitFor(() => expect(screen.getByTestId("map")).toHaveAttribute("data-pins-drawn", "2"));
    expect(JSON.parse(screen.getByTestId("map").getAttribute("data-pin-points")!)).toEqual(
      drawn.map(({ reference, x, y }) => ({ reference, x, y })),
    );

    // Later syncs change the pins but leave the view where it is.
    backend.server.incoming.push(...synced([[52.01, -0.99]]));
    await backend.syncNow();
    await waitFor(() => expect(pinsIn(map)).toHaveLength(4));
    expect(map.shown).toHaveLength(1);
  });

  it("leaves the view where the person moved it when the first pins come", async () => {
    const user = userEvent.setup();
    stubPosition({ code: 1 });
    const backend = new MockBackend({
      cases: 0,
      unlocked: true,
      signedIn: true,
      backgroundSync: false,
      server: { incoming: synced([[52.0063, -1.0098]]) },
    });
    render(Cases, { backend, go: () => {} });
    await screen.findByText("No cases");
    await user.click(screen.getByRole("tab", { name: "Map" }));
    await waitFor(() => expect(fakeMaps.started).toHaveLength(1));
    const map = lastMap();
    map.moved = true;
    await backend.syncNow();
    await waitFor(() => expect(pinsIn(map)).toHaveLength(1));
    expect(map.shown).toEqual([]);
  });

  it("says the map cannot be shown when the webview cannot draw it, and the list still works", async () => {
    const user = userEvent.setup();
    fakeMaps.fail = true;
    render(Cases, { backend: new MockBackend({ cases: 10, unlocked: true, backgroundSync: false }), go: () => {} });
    await screen.findByText("Showing 1 to 10 of 10 cases");
    await user.click(screen.getByRole("tab", { name: "Map" }));
    expect(await screen.findByText("The map cannot be shown on this device")).toBeInTheDocument();
    expect(screen.getByTestId("map")).toHaveClass("fb-map__canvas--gone");
    await user.click(screen.getByRole("tab", { name: "List" }));
    expect(screen.getAllByRole("row")).toHaveLength(11);
  });

  it("names the basemap's source under the map", async () => {
    const user = userEvent.setup();
    const backend = new MockBackend({ cases: 5, unlocked: true, backgroundSync: false, map: { basemap: PACK } });
    render(Cases, { backend, go: () => {} });
    await screen.findByText("Showing 1 to 5 of 5 cases");
    await user.click(screen.getByRole("tab", { name: "Map" }));
    expect(await screen.findByText(`Map: ${PACK.attribution}`)).toBeInTheDocument();
    expect(lastMap().style.sources.basemap).toMatchObject({ tiles: ["mock-tiles/{z}/{x}/{y}"] });
  });
});
