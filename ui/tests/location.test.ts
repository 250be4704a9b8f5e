// Locations: the case page's location panel (grid reference, ward, accuracy, where it came
// from; the device's position, allowed or not; a property from the address list, or none
// loaded; a point picked on the map), "Nearest to me" on My cases, the same ways on New case
// and on Change case details, and the mock device's distance ordering.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import CasePage from "../src/screens/CasePage.svelte";
import Cases, { forgetCaseFilters } from "../src/screens/Cases.svelte";
import NewCase from "../src/screens/NewCase.svelte";
import EditCase from "../src/screens/EditCase.svelte";
import { MockBackend } from "../src/lib/mock-backend";
import { BackendError, editArgs, listArgs } from "../src/lib/backend";
import type { Route } from "../src/lib/router.svelte";
import { currentPosition } from "../src/lib/position";
import { fakeMaps, lastMap, stubPosition } from "./geo-stubs";
import { expectAccessible } from "./axe";

vi.mock("../src/lib/maplibre", async () => (await import("./geo-stubs")).fakeMapModule());

const REF = "FH-2026-1-0001";

function device(cases = 3, gazetteer?: null): MockBackend {
  return new MockBackend({ cases, unlocked: true, backgroundSync: false, ...(gazetteer === null ? { gazetteer: null } : {}) });
}

const panel = () => screen.getByTestId("location-panel");

beforeEach(() => {
  forgetCaseFilters();
  fakeMaps.started = [];
  fakeMaps.fail = false;
});
afterEach(() => {
  Object.defineProperty(navigator, "geolocation", { value: undefined, configurable: true });
});

async function rejection(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    return BackendError.from(e);
  }
  throw new Error("expected the call to fail");
}

// ------------------------------------------------------------------ the device's position

describe("the device's position", () => {
  it("gives an accuracy the device takes with a location: at most 100 km", async () => {
    stubPosition({ lat: 52.0, lon: -1.0, accuracy: 250_000 });
    expect(await currentPosition()).toEqual({ ok: true, position: { lat: 52.0, lon: -1.0, accuracy_m: 100_000 } });
    stubPosition({ lat: 52.0, lon: -1.0, accuracy: 12.5 });
    expect(await currentPosition()).toEqual({ ok: true, position: { lat: 52.0, lon: -1.0, accuracy_m: 12.5 } });
    stubPosition({ lat: 52.0, lon: -1.0, accuracy: Number.NaN });
    expect(await currentPosition()).toEqual({ ok: true, position: { lat: 52.0, lon: -1.0, accuracy_m: null } });
  });
});

// ------------------------------------------------------------------ the mock device

describe("MockBackend: locations and distance", () => {
  it("keeps where a location came from, with its grid reference and ward", async () => {
    const b = device();
    const c = await b.editCase(editArgs(REF, { lat: 52.0061, lon: -1.0102, accuracy_m: 6, location_source: "device" }));
    expect(c.location).toMatchObject({
      lat: 52.0061,
      lon: -1.0102,
      accuracy_m: 6,
      source: "device",
      bng: { grid_ref: "SP 68039 34647" },
      ward: { code: "E05900001", name: "Millbrook North" },
    });
    expect((await b.editCase(editArgs(REF, { lat: 52, lon: -1 }))).location?.source).toBe("manual");
    expect((await rejection(b.editCase(editArgs(REF, { lat: 95, lon: -1 })))).toDto()).toEqual({
      code: "invalid_location",
      message: "the location is not possible: latitude 95 is outside -90 to 90",
      field: "location",
    });
    expect((await rejection(b.editCase(editArgs(REF, { lat: 52, lon: -1, location_source: "guess" })))).code).toBe("invalid_location");
  });

  it("sorts nearest first with each distance, cases with no location last, and needs a point", async () => {
    const b = device(40);
    const here = { near_lat: 52.0, near_lon: -1.0 };
    const page = await b.listCases(listArgs({ sort: "distance", ...here, limit: 500 }));
    const distances = page.cases.map((c) => c.distance_m);
    const known = distances.filter((d): d is number => d !== null);
    expect(known).toEqual([...known].sort((x, y) => x - y));
    expect(distances.slice(known.length).every((d) => d === null)).toBe(true);
    expect(known.length).toBeLessThan(distances.length);
    // A point without distance order still fills the distances.
    expect((await b.listCases(listArgs({ ...here }))).cases.some((c) => c.distance_m !== null)).toBe(true);
    expect((await b.listCases(listArgs())).cases.every((c) => c.distance_m === null)).toBe(true);
    expect((await rejection(b.listCases(listArgs({ sort: "distance" })))).toDto()).toMatchObject({ code: "invalid_input", field: "near" });
    expect((await rejection(b.listCases(listArgs({ near_lat: 52 })))).code).toBe("invalid_input");
  });

  it("finds places by UPRN or postcode, and refuses when no address list is loaded", async () => {
    const b = device();
    expect((await b.findPlace("900000000010")).map((p) => p.address)).toEqual(["The Old Forge, Church Road, Millbrook"]);
    expect(await b.findPlace("mb11aa")).toHaveLength(3);
    expect(await b.findPlace("123")).toEqual([]);
    expect((await rejection(b.findPlace("ZZ9"))).code).toBe("invalid_postcode");
    expect((await rejection(b.findPlace("1234567890123"))).code).toBe("invalid_uprn");
    const none = device(3, null);
    expect((await rejection(none.findPlace("MB1 1AA"))).code).toBe("no_gazetteer");
  });
});

// ------------------------------------------------------------------ the location panel

describe("Case page: location", () => {
  it("shows the location's grid reference, easting and northing, ward, accuracy and source", async () => {
    const b = device();
    await b.editCase(editArgs(REF, { lat: 52.0061, lon: -1.0102, accuracy_m: 6.4, location_source: "device" }));
    render(CasePage, { backend: b, reference: REF, go: () => {} });
    await screen.findByRole("heading", { level: 1, name: "The Golden Fork takeaway" });
    const rows = within(panel()).getAllByRole("term").map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]);
    expect(rows).toEqual([
      ["Latitude and longitude", "52.006100, -1.010200"],
      ["Grid reference", "SP 68039 34647"],
      ["Easting and northing", "Easting 468039, northing 234647"],
      ["Ward", "Millbrook North (E05900001)"],
      ["Accuracy", "To within 6 metres"],
      ["Where it came from", "Device position"],
      ["Recorded", expect.stringMatching(/^\d{1,2} February 2026, \d{2}:\d{2}$/)],
    ]);
    await expectAccessible();
  });

  it("uses the device's position", async () => {
    const user = userEvent.setup();
    const ask = stubPosition({ lat: 51.995, lon: -1.012, accuracy: 9 });
    const b = device();
    render(CasePage, { backend: b, reference: REF, go: () => {} });
    await user.click(await within(await screen.findByTestId("location-panel")).findByRole("button", { name: "Use my position" }));
    await waitFor(() => expect(panel()).toHaveTextContent("Device position"));
    expect(ask).toHaveBeenCalledWith(expect.any(Function), expect.any(Function), expect.objectContaining({ timeout: 15_000 }));
    expect(panel()).toHaveTextContent("Millbrook South (E05900002)");
    expect(panel()).toHaveTextContent("To within 9 metres");
    expect(screen.getByTestId("location-status")).toHaveTextContent("The case’s location is now your position.");
    expect((await b.openCase(REF)).location).toMatchObject({ lat: 51.995, lon: -1.012, accuracy_m: 9, source: "device" });
    expect(screen.getByRole("table", { name: /oldest first/ })).toHaveTextContent("Edited case");
  });

  it("says so when the position is refused or not there, and the other ways remain", async () => {
    const user = userEvent.setup();
    stubPosition({ code: 1 });
    const b = device();
    render(CasePage, { backend: b, reference: REF, go: () => {} });
    const button = await within(await screen.findByTestId("location-panel")).findByRole("button", { name: "Use my position" });
    await user.click(button);
    const status = screen.getByTestId("location-status");
    await waitFor(() => expect(status).toHaveTextContent("Fieldbook is not allowed to use this device’s position."));
    expect(status).toHaveTextContent("You can pick the place on the map, find the property by UPRN or postcode, or type the latitude and longitude.");
    for (const name of ["Pick on the map", "Find the property"]) expect(within(panel()).getByRole("button", { name })).toBeEnabled();
    expect(within(panel()).getByRole("link", { name: "Type the latitude and longitude" })).toBeInTheDocument();
    expect((await b.openCase(REF)).location).toBeNull();

    stubPosition("none");
    await user.click(button);
    await waitFor(() => expect(status).toHaveTextContent("This device cannot tell Fieldbook where it is."));
    stubPosition({ code: 3 });
    await user.click(button);
    await waitFor(() => expect(status).toHaveTextContent("Finding this device’s position took too long."));
  });

  it("finds the property by postcode and sets the address, postcode, UPRN and location from it", async () => {
    const user = userEvent.setup();
    const b = device();
    const go = vi.fn<(r: Route) => void>();
    render(CasePage, { backend: b, reference: REF, go });
    await user.click(await within(await screen.findByTestId("location-panel")).findByRole("button", { name: "Find the property" }));
    expect(within(panel()).getByRole("button", { name: "Find the property", expanded: true })).toBeInTheDocument();
    await user.type(screen.getByLabelText("UPRN or postcode"), "mb1 1aa{Enter}");

    const group = await screen.findByRole("group", { name: "Choose the property (3 found)" });
    expect(within(group).getAllByRole("radio")).toHaveLength(3);
    await user.click(screen.getByRole("button", { name: "Use this property" }));
    expect(within(group).getByText("Select the property")).toBeInTheDocument();

    await user.click(within(group).getByLabelText("3 Mill Lane, Millbrook, MB1 1AA"));
    expect(within(group).getByLabelText("3 Mill Lane, Millbrook, MB1 1AA")).toHaveAccessibleDescription(/UPRN 900000000002 · SP \d{5} \d{5}/);
    await user.click(screen.getByRole("button", { name: "Use this property" }));

    await waitFor(() => expect(panel()).toHaveTextContent("From the address list (UPRN 900000000002)"));
    expect(screen.queryByRole("group", { name: /Choose the property/ })).not.toBeInTheDocument();
    const c = await b.openCase(REF);
    expect(c).toMatchObject({
      address: "3 Mill Lane, Millbrook",
      postcode: "MB1 1AA",
      uprn: 900000000002,
      location: { lat: 52.0063, lon: -1.0098, source: "gazetteer" },
    });
    expect(document.querySelector(".govuk-summary-list")).toHaveTextContent("3 Mill Lane, Millbrook");
  });

  it("asks whether the one property found is the one, and says when none matches", async () => {
    const user = userEvent.setup();
    render(CasePage, { backend: device(), reference: REF, go: () => {} });
    await user.click(await within(await screen.findByTestId("location-panel")).findByRole("button", { name: "Find the property" }));
    await user.type(screen.getByLabelText("UPRN or postcode"), "123");
    await user.click(within(panel()).getAllByRole("button", { name: "Find the property" })[1]!);
    expect(await screen.findByTestId("find-place-none")).toHaveTextContent("No property in the address list has the UPRN 123.");

    await user.clear(screen.getByLabelText("UPRN or postcode"));
    await user.type(screen.getByLabelText("UPRN or postcode"), "900000000010{Enter}");
    const group = await screen.findByRole("group", { name: "Is this the property?" });
    expect(within(group).getByRole("radio")).toBeChecked();
  });

  it("says no address list is loaded, in the error summary, and the other ways remain", async () => {
    const user = userEvent.setup();
    render(CasePage, { backend: device(3, null), reference: REF, go: () => {} });
    await user.click(await within(await screen.findByTestId("location-panel")).findByRole("button", { name: "Find the property" }));
    await user.type(screen.getByLabelText("UPRN or postcode"), "MB1 1AA{Enter}");
    const summary = await screen.findByRole("alert");
    const link = within(summary).getByRole("link", { name: "No address list is loaded on this device: ask your administrator" });
    expect(link).toHaveAttribute("href", "#location-place-query");
    expect(screen.getByLabelText("UPRN or postcode")).toHaveAccessibleDescription(/Error: No address list is loaded/);
    expect(panel()).toHaveTextContent("You can still type the address, use your position, or pick the place on the map.");
    expect(within(panel()).getByRole("button", { name: "Use my position" })).toBeEnabled();
    await expectAccessible();

    // An empty box is a problem of its own.
    await user.clear(screen.getByLabelText("UPRN or postcode"));
    await user.type(screen.getByLabelText("UPRN or postcode"), "{Enter}");
    await waitFor(() => expect(within(screen.getByRole("alert")).getByRole("link")).toHaveTextContent("Enter a UPRN or a postcode"));
  });

  it("picks a place on the map, by a click or by the centre of the map", async () => {
    const user = userEvent.setup();
    const b = device();
    await b.editCase(editArgs(REF, { lat: 52.0061, lon: -1.0102 }));
    render(CasePage, { backend: b, reference: REF, go: () => {} });
    await user.click(await within(await screen.findByTestId("location-panel")).findByRole("button", { name: "Pick on the map" }));
    await waitFor(() => expect(fakeMaps.started).toHaveLength(1));
    const map = lastMap();
    expect(map.view).toEqual({ kind: "centre", centre: { lat: 52.0061, lon: -1.0102 }, zoom: 16 });
    expect(screen.getByRole("button", { name: "Save this place" })).toBeDisabled();

    map.click!({ point: { lat: 52.0102, lon: -0.9903 }, pin: null, ward: null });
    await waitFor(() => expect(screen.getByTestId("picked")).toHaveTextContent("Picked: 52.010200, -0.990300"));
    await waitFor(() => expect(map.data.picked?.features).toHaveLength(1));

    map.centre = { lat: 52.0012, lon: -1.0034 };
    await user.click(screen.getByRole("button", { name: "Use the centre of the map" }));
    expect(screen.getByTestId("picked")).toHaveTextContent("Picked: 52.001200, -1.003400");
    await user.click(screen.getByRole("button", { name: "Save this place" }));

    await waitFor(() => expect(panel()).toHaveTextContent("Picked on the map"));
    expect(map.removed).toBe(true);
    expect((await b.openCase(REF)).location).toMatchObject({ lat: 52.0012, lon: -1.0034, source: "map", accuracy_m: null });
  });

  it("says the map cannot be shown, and names the other ways", async () => {
    const user = userEvent.setup();
    fakeMaps.fail = true;
    render(CasePage, { backend: device(), reference: REF, go: () => {} });
    await user.click(await within(await screen.findByTestId("location-panel")).findByRole("button", { name: "Pick on the map" }));
    const message = await screen.findByTestId("map-unavailable");
    expect(message).toHaveTextContent("The map cannot be shown on this device");
    expect(message).toHaveTextContent("You can still use your position, find the property by UPRN or postcode, or type the latitude and longitude.");
  });

  it("offers no ways to change the location when the case can no longer change", async () => {
    render(CasePage, { backend: device(5), reference: "HW-2026-1-0001", go: () => {} });
    await screen.findByRole("heading", { level: 1, name: "Pothole outside school" });
    expect(within(panel()).queryByRole("button")).not.toBeInTheDocument();
  });
});

// ------------------------------------------------------------------ Nearest to me

describe("My cases: nearest to me", () => {
  it("asks where the device is and lists the nearest first, with each distance", async () => {
    const user = userEvent.setup();
    stubPosition({ lat: 52.0, lon: -1.0 });
    const backend = device(30);
    const list = vi.spyOn(backend, "listCases");
    render(Cases, { backend, go: () => {} });
    await screen.findByText("Showing 1 to 30 of 30 cases");
    expect(screen.queryByRole("columnheader", { name: "Distance" })).not.toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText("Sort by"), "Nearest to me");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    expect(await screen.findByRole("columnheader", { name: "Distance" })).toBeInTheDocument();
    expect(list).toHaveBeenLastCalledWith(expect.objectContaining({ sort: "distance", near_lat: 52.0, near_lon: -1.0 }));

    const cells = screen.getAllByTestId("distance").map((td) => td.textContent!.trim());
    const expected = (await backend.listCases(listArgs({ sort: "distance", near_lat: 52, near_lon: -1, limit: 50 }))).cases;
    expect(screen.getAllByRole("link", { name: /^[A-Z]{2}-2026-1-\d{4}$/ }).map((a) => a.textContent)).toEqual(expected.map((c) => c.reference));
    for (const cell of cells) expect(cell).toMatch(/^(\d+ m|\d+\.\d km|\d+ km|No location)$/);
    expect(cells[cells.length - 1]).toBe("No location");
    await expectAccessible();
  });

  it("says when the position is not available, and keeps the list in due date order", async () => {
    const user = userEvent.setup();
    stubPosition({ code: 1 });
    const backend = device(10);
    const list = vi.spyOn(backend, "listCases");
    render(Cases, { backend, go: () => {} });
    await screen.findByText("Showing 1 to 10 of 10 cases");
    await user.selectOptions(screen.getByLabelText("Sort by"), "Nearest to me");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    await waitFor(() =>
      expect(screen.getByTestId("near-status")).toHaveTextContent(
        "Your position is not available, so the cases are in due date order. Fieldbook is not allowed to use this device’s position.",
      ),
    );
    expect(list).toHaveBeenLastCalledWith(expect.objectContaining({ sort: "due", near_lat: null, near_lon: null }));
    expect(screen.queryByRole("columnheader", { name: "Distance" })).not.toBeInTheDocument();
    expect(screen.getAllByRole("row")).toHaveLength(11);
  });
});

// ------------------------------------------------------------------ New case

describe("New case: where it is", () => {
  it("uses the device's position, kept with its source and accuracy", async () => {
    const user = userEvent.setup();
    stubPosition({ lat: 52.0101, lon: -1.0105, accuracy: 7 });
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(NewCase, { backend, go });
    await user.click(await screen.findByLabelText("Highway defect"));
    await user.type(screen.getByLabelText("Title"), "Pothole by the mill");
    await user.click(screen.getByRole("button", { name: "Use my position" }));
    await waitFor(() => expect(screen.getByTestId("where-status")).toHaveTextContent("Location set to your position (to within 7 metres)."));
    expect(screen.getByLabelText("Latitude")).toHaveValue("52.010100");
    expect(screen.getByTestId("location-source")).toHaveTextContent("Location: Device position");
    await user.click(screen.getByRole("button", { name: "Create case" }));
    await waitFor(() => expect(go).toHaveBeenCalled());
    const ref = (go.mock.calls[0]![0] as { reference: string }).reference;
    expect((await backend.openCase(ref)).location).toMatchObject({ lat: 52.0101, lon: -1.0105, accuracy_m: 7, source: "device" });
  });

  it("creates the case with a rough position from the network alone (accuracy over 100 km)", async () => {
    const user = userEvent.setup();
    stubPosition({ lat: 52.0101, lon: -1.0105, accuracy: 250_000 });
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(NewCase, { backend, go });
    await user.click(await screen.findByLabelText("Highway defect"));
    await user.type(screen.getByLabelText("Title"), "Pothole by the mill");
    await user.click(screen.getByRole("button", { name: "Use my position" }));
    await waitFor(() => expect(screen.getByTestId("location-source")).toHaveTextContent("Location: Device position"));
    await user.click(screen.getByRole("button", { name: "Create case" }));
    await waitFor(() => expect(go).toHaveBeenCalled());
    const ref = (go.mock.calls[0]![0] as { reference: string }).reference;
    expect((await backend.openCase(ref)).location).toMatchObject({ lat: 52.0101, lon: -1.0105, accuracy_m: 100_000, source: "device" });
    expect(screen.getByTestId("where-status")).toHaveTextContent("Location set to your position (to within 100,000 metres).");
  });

  it("says so when the position is refused", async () => {
    const user = userEvent.setup();
    stubPosition({ code: 2 });
    render(NewCase, { backend: device(3), go: () => {} });
    await user.click(await screen.findByRole("button", { name: "Use my position" }));
    await waitFor(() =>
      expect(screen.getByTestId("where-status")).toHaveTextContent(
        "This device cannot find its position at the moment. Try again outside or near a window. You can find the property, or add the location by hand.",
      ),
    );
    expect(screen.getByLabelText("Latitude", { selector: "input" })).toHaveValue("");
  });

  it("counts a coordinate typed after using the position as typed in", async () => {
    const user = userEvent.setup();
    stubPosition({ lat: 52.0101, lon: -1.0105, accuracy: 7 });
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(NewCase, { backend, go });
    await user.click(await screen.findByLabelText("Highway defect"));
    await user.type(screen.getByLabelText("Title"), "Pothole by the mill");
    await user.click(screen.getByRole("button", { name: "Use my position" }));
    await waitFor(() => expect(screen.getByTestId("location-source")).toHaveTextContent("Device position"));
    await user.clear(screen.getByLabelText("Longitude"));
    await user.type(screen.getByLabelText("Longitude"), "-1.0111");
    expect(screen.queryByTestId("location-source")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Create case" }));
    await waitFor(() => expect(go).toHaveBeenCalled());
    const ref = (go.mock.calls[0]![0] as { reference: string }).reference;
    expect((await backend.openCase(ref)).location).toMatchObject({ lon: -1.0111, accuracy_m: null, source: "manual" });
  });

  it("fills the address, postcode, UPRN and location from the address list", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(NewCase, { backend, go });
    await user.click(await screen.findByLabelText("Food hygiene"));
    await user.type(screen.getByLabelText("Title"), "Old Forge tearoom");
    await user.click(screen.getByRole("button", { name: "Find the property" }));
    await user.type(screen.getByLabelText("UPRN or postcode"), "900000000010{Enter}");
    await user.click(await screen.findByRole("button", { name: "Use this property" }));
    expect(screen.getByLabelText("Address (optional)")).toHaveValue("The Old Forge, Church Road, Millbrook");
    expect(screen.getByLabelText("Postcode (optional)")).toHaveValue("MB2 4DX");
    expect(screen.getByLabelText(/^UPRN/)).toHaveValue("900000000010");
    expect(screen.getByTestId("location-source")).toHaveTextContent("Location: From the address list (UPRN 900000000010)");
    await user.click(screen.getByRole("button", { name: "Create case" }));
    await waitFor(() => expect(go).toHaveBeenCalled());
    const ref = (go.mock.calls[0]![0] as { reference: string }).reference;
    expect(await backend.openCase(ref)).toMatchObject({
      address: "The Old Forge, Church Road, Millbrook",
      postcode: "MB2 4DX",
      uprn: 900000000010,
      location: { lat: 51.9912, lon: -1.0051, source: "gazetteer" },
    });
    expect(await backend.drafts("new-case:")).toEqual([]);
  });

  it("puts a no-address-list refusal in the error summary", async () => {
    const user = userEvent.setup();
    render(NewCase, { backend: device(3, null), go: () => {} });
    await user.click(await screen.findByRole("button", { name: "Find the property" }));
    await user.type(screen.getByLabelText("UPRN or postcode"), "MB1 1AA{Enter}");
    const summary = await screen.findByRole("alert");
    expect(within(summary).getByRole("link", { name: "No address list is loaded on this device: ask your administrator" })).toHaveAttribute(
      "href",
      "#new-place-query",
    );
  });
});

// ------------------------------------------------------------------ Edit case

describe("Change case details: where it is", () => {
  const edit = async (b: MockBackend) => {
    render(EditCase, { backend: b, reference: REF, go: () => {} });
    await screen.findByRole("heading", { level: 1, name: "Change case details" });
  };

  it("uses the device's position, saved as the device's with its accuracy, and shown in the typed fields", async () => {
    const user = userEvent.setup();
    stubPosition({ lat: 51.995, lon: -1.012, accuracy: 9 });
    const b = device();
    await edit(b);
    // Half a location typed and not saved is replaced, not saved over the position later.
    await user.type(screen.getByLabelText("Latitude"), "51.5");
    await user.click(within(panel()).getByRole("button", { name: "Use my position" }));

    await waitFor(() => expect(panel()).toHaveTextContent("Device position"));
    expect(screen.getByTestId("location-status")).toHaveTextContent("The case’s location is now your position.");
    expect(panel()).toHaveTextContent("To within 9 metres");
    expect((await b.openCase(REF)).location).toMatchObject({ lat: 51.995, lon: -1.012, accuracy_m: 9, source: "device" });
    expect(screen.getByLabelText("Latitude")).toHaveValue("51.995");
    expect(screen.getByLabelText("Longitude")).toHaveValue("-1.012");
    await waitFor(() => expect(screen.getByTestId("save-status")).toHaveTextContent("All changes saved"));
    expect(await b.drafts("case:")).toEqual([]);
    await expectAccessible();

    // Typing a coordinate afterwards is a location typed in.
    await user.clear(screen.getByLabelText("Longitude"));
    await user.type(screen.getByLabelText("Longitude"), "-1.0111");
    await user.click(screen.getByRole("button", { name: "Back to case" }));
    await waitFor(async () => expect((await b.openCase(REF)).location).toMatchObject({ lat: 51.995, lon: -1.0111, accuracy_m: null, source: "manual" }));
  });

  it("says so when the position is refused, and changes nothing", async () => {
    const user = userEvent.setup();
    stubPosition({ code: 1 });
    const b = device();
    await edit(b);
    await user.click(within(panel()).getByRole("button", { name: "Use my position" }));
    await waitFor(() => expect(screen.getByTestId("location-status")).toHaveTextContent("Fieldbook is not allowed to use this device’s position."));
    expect(screen.getByLabelText("Latitude")).toHaveValue("");
    expect((await b.openCase(REF)).location).toBeNull();
  });

  it("finds the property: address, postcode, UPRN and location from the address list, over what was typed", async () => {
    const user = userEvent.setup();
    const b = device();
    await edit(b);
    // A postcode the device refuses stays typed, with its error, until it is put right.
    const postcode = screen.getByLabelText("Postcode");
    await user.clear(postcode);
    await user.type(postcode, "ZZ");
    await user.click(within(panel()).getByRole("button", { name: "Find the property" }));
    await waitFor(() => expect(postcode).toHaveAccessibleDescription(/Error: 'ZZ' is not a UK postcode/));
    await user.type(screen.getByLabelText("UPRN or postcode"), "900000000010{Enter}");
    await user.click(await screen.findByRole("button", { name: "Use this property" }));

    // The property puts it right.
    await waitFor(() => expect(panel()).toHaveTextContent("From the address list (UPRN 900000000010)"));
    expect(screen.getByTestId("location-status")).toHaveTextContent("The case is now at The Old Forge, Church Road, Millbrook.");
    expect(screen.getByLabelText("Address")).toHaveValue("The Old Forge, Church Road, Millbrook");
    expect(postcode).toHaveValue("MB2 4DX");
    expect(postcode).not.toHaveAccessibleDescription(/Error/);
    expect(screen.getByLabelText(/^UPRN/)).toHaveValue("900000000010");
    expect(screen.getByLabelText("Latitude")).toHaveValue("51.9912");
    await waitFor(() => expect(screen.getByTestId("save-status")).toHaveTextContent("All changes saved"));
    expect(await b.drafts("case:")).toEqual([]);
    expect(await b.openCase(REF)).toMatchObject({
      address: "The Old Forge, Church Road, Millbrook",
      postcode: "MB2 4DX",
      uprn: 900000000010,
      location: { lat: 51.9912, lon: -1.0051, source: "gazetteer" },
    });
  });

  it("puts a no-address-list refusal in the error summary", async () => {
    const user = userEvent.setup();
    await edit(device(3, null));
    await user.click(within(panel()).getByRole("button", { name: "Find the property" }));
    await user.type(screen.getByLabelText("UPRN or postcode"), "MB1 1AA{Enter}");
    const summary = await screen.findByRole("alert");
    expect(within(summary).getByRole("link", { name: "No address list is loaded on this device: ask your administrator" })).toHaveAttribute(
      "href",
      "#location-place-query",
    );
  });

  it("takes the person to the latitude and longitude to type them", async () => {
    const user = userEvent.setup();
    const go = vi.fn<(r: Route) => void>();
    render(EditCase, { backend: device(), reference: REF, go });
    await screen.findByRole("heading", { level: 1, name: "Change case details" });
    await user.click(within(panel()).getByRole("link", { name: "Type the latitude and longitude" }));
    expect(screen.getByLabelText("Latitude")).toHaveFocus();
    expect(go).not.toHaveBeenCalled();
    expect(screen.getByRole("group", { name: "Latitude and longitude" })).toBeInTheDocument();
  });
});
