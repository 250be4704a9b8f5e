// Pure helpers for photos and places: the words for each refusal, distances, where a location
// came from, the status line while photos travel, the mock's grid references and wards, and the
// mock's photo checks (the same codes and words as crates/media).
import { describe, expect, it } from "vitest";
import { photoWords, tooLargeWords } from "../src/lib/photo-words";
import { photoProgressText, signInWords, syncLine } from "../src/lib/sync-words";
import { accuracyText, distanceText, eastingNorthingText, fileSizeText, latLonText, locationSourceText, megabytesText } from "../src/lib/format";
import { distanceM, readWards, wardAt } from "../src/lib/geo";
import { approximateBng, gridRef, MILLBROOK_WARDS } from "../src/lib/mock-geo";
import { checkPhoto, fakeJpeg, fakePng } from "../src/lib/mock-media";
import { BackendError } from "../src/lib/backend";
import type { SyncActivityDto } from "../src/bindings/SyncActivityDto";
import type { SyncStatusDto } from "../src/bindings/SyncStatusDto";

function refusal(f: () => unknown): BackendError {
  try {
    f();
  } catch (e) {
    if (e instanceof BackendError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("plain words for photo and place refusals", () => {
  it("uses the device's own sentence for the photo checks, which name the size and the limit", () => {
    expect(photoWords("too_large", "this photo is 52.1 MB but the largest allowed is 40 MB")).toBe(
      "This photo is 52.1 MB but the largest allowed is 40 MB",
    );
    expect(photoWords("heic_unsupported", "HEIC photos are not supported yet: export the photo as JPEG and add it again")).toMatch(
      /^HEIC photos are not supported/,
    );
    expect(photoWords("mislabelled", "this file is called .png but is a JPEG image")).toBe("This file is called .png but is a JPEG image");
  });

  it("has words of its own when the message is missing, and for the codes written for programs", () => {
    expect(photoWords("too_large")).toBe("The photo is too big. Photos must be 40 MB or smaller");
    expect(photoWords("too_many_pixels")).toMatch(/100 megapixels or smaller/);
    expect(photoWords("empty")).toBe("The file is empty. Add the photo again");
    expect(photoWords("corrupt")).toMatch(/damaged or incomplete/);
    expect(photoWords("unsupported_format")).toBe("The file must be a JPEG or PNG photo");
    expect(photoWords("heic_unsupported")).toMatch(/^HEIC photos are not supported: export the photo as JPEG/);
    expect(photoWords("mislabelled")).toMatch(/name does not match/);
    expect(photoWords("hash_mismatch", "sha256 of received bytes differs")).toBe(
      "The photo was damaged on the way to the server; it will be sent again",
    );
    expect(photoWords("photos_unavailable", "503")).toBe(
      "The council’s server cannot take photos at the moment; they stay on this device and are sent later",
    );
    expect(photoWords("no_gazetteer", "no address list (gazetteer) is loaded")).toBe(
      "No address list is loaded on this device: ask your administrator",
    );
    expect(photoWords("invalid_location", "the location is not possible: latitude 95 is outside -90 to 90")).toBe(
      "The location is not possible: latitude 95 is outside -90 to 90",
    );
    expect(photoWords("invalid_location")).toMatch(/^That is not a possible location/);
    expect(photoWords("something_new", "the device said no.")).toBe("The device said no");
  });

  it("says a file is too big before reading it, in the device's words", () => {
    expect(tooLargeWords(52_500_000)).toBe("this photo is 50.1 MB but the largest allowed is 40 MB");
    expect(tooLargeWords(41 * 1024 * 1024)).toBe("this photo is 41 MB but the largest allowed is 40 MB");
    expect(photoWords("too_large", tooLargeWords(52_500_000))).toBe("This photo is 50.1 MB but the largest allowed is 40 MB");
  });

  it("gives the sync line the photo words for the photo transfer's codes", () => {
    expect(signInWords("photos_unavailable", "503 Service Unavailable")).toMatch(/^The council’s server cannot take photos/);
    expect(signInWords("hash_mismatch", "x")).toMatch(/will be sent again$/);
  });
});

describe("the status line while photos travel", () => {
  const status: SyncStatusDto = {
    server: "https://fieldbook.anytown.gov.uk",
    user: "olive",
    last_sync_at: null,
    last_error: null,
    outbox_cases: 0,
    outbox_changes: 0,
    refused: [],
    departed: [],
  };
  const activity = (photos: SyncActivityDto["photos"], state = "syncing"): SyncActivityDto => ({
    state,
    pulled: 0,
    total: 0,
    error: null,
    revoked_reason: null,
    photos,
  });

  it("counts photos sent and the part of the one on its way", () => {
    expect(photoProgressText({ done: 2, total: 5, sent: 0, size: 0 })).toBe("Sending photos: 2 of 5");
    expect(photoProgressText({ done: 2, total: 5, sent: 1_000_000, size: 2_500_000 })).toBe("Sending photos: 2 of 5 (40% of the next)");
    expect(photoProgressText({ done: 5, total: 5, sent: 10, size: 10 })).toBe("Sending photos: 5 of 5");
  });

  it("shows it as syncing, announcing only that photos are being sent", () => {
    const line = syncLine(status, activity({ done: 1, total: 3, sent: 500, size: 1000 }), "");
    expect(line).toMatchObject({ tag: "Syncing", text: "Sending photos: 1 of 3 (50% of the next)", announce: "Sending photos", action: null });
    expect(syncLine(status, activity(null), "").text).toBe("Syncing…");
  });

  it("says in plain words when the server cannot take photos", () => {
    const line = syncLine(status, { ...activity(null, "idle"), error: { code: "photos_unavailable", message: "503" } }, "");
    expect(line.tag).toBe("Not synced");
    expect(line.text).toMatch(/^The council’s server cannot take photos at the moment/);
  });
});

describe("places in words", () => {
  it("gives distances in metres, then kilometres", () => {
    expect(distanceText(0)).toBe("0 m");
    expect(distanceText(42.4)).toBe("42 m");
    expect(distanceText(352)).toBe("350 m");
    expect(distanceText(994)).toBe("990 m");
    expect(distanceText(1_180)).toBe("1.2 km");
    expect(distanceText(9_940)).toBe("9.9 km");
    expect(distanceText(14_400)).toBe("14 km");
    expect(distanceText(1_234_000)).toBe("1,234 km");
  });

  it("names where a location came from", () => {
    expect(locationSourceText("device")).toBe("Device position");
    expect(locationSourceText("photo_exif")).toBe("From a photo");
    expect(locationSourceText("map")).toBe("Picked on the map");
    expect(locationSourceText("gazetteer", 1234)).toBe("From the address list (UPRN 1234)");
    expect(locationSourceText("manual")).toBe("Typed in");
  });

  it("gives accuracy, coordinates, grid numbers and file sizes", () => {
    expect(accuracyText(null)).toBe("Not known");
    expect(accuracyText(1)).toBe("To within 1 metre");
    expect(accuracyText(12.4)).toBe("To within 12 metres");
    expect(latLonText(52.0063, -1.0098)).toBe("52.006300, -1.009800");
    expect(eastingNorthingText({ easting: 468039.09, northing: 234647.9 })).toBe("Easting 468039, northing 234647");
    expect(fileSizeText(850)).toBe("850 bytes");
    expect(fileSizeText(870_400)).toBe("850 KB");
    expect(fileSizeText(3_500_000)).toBe("3.4 MB");
    expect(fileSizeText(2 * 1024 * 1024)).toBe("2 MB");
    expect(megabytesText(40 * 1024 * 1024 + 1)).toBe("40.1 MB");
    expect(megabytesText(40 * 1024 * 1024 + 1, false)).toBe("40.0 MB");
  });
});

describe("geometry", () => {
  it("measures great-circle distances", () => {
    // One degree of latitude is about 111.2 km.
    expect(distanceM({ lat: 52, lon: -1 }, { lat: 53, lon: -1 })).toBeCloseTo(111_195, -1);
    expect(distanceM({ lat: 52, lon: -1 }, { lat: 52, lon: -1 })).toBe(0);
  });

  it("finds the ward holding a point, and none outside or in a hole", () => {
    const wards = readWards(MILLBROOK_WARDS);
    expect(wards.map((w) => w.name)).toEqual(["Millbrook North", "Millbrook South", "Millbrook East and Islands"]);
    expect(wardAt(wards, { lat: 52.01, lon: -1.01 })?.code).toBe("E05900001");
    expect(wardAt(wards, { lat: 51.99, lon: -1.01 })?.code).toBe("E05900002");
    expect(wardAt(wards, { lat: 51.995, lon: -0.955 })?.name).toBe("Millbrook East and Islands");
    expect(wardAt(wards, { lat: 53, lon: -1 })).toBeNull();
    const holed = readWards(
      JSON.stringify({
        type: "FeatureCollection",
        features: [
          {
            type: "Feature",
            properties: { code: "X", name: "Ring" },
            geometry: {
              type: "Polygon",
              coordinates: [
                [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                [[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]],
              ],
            },
          },
        ],
      }),
    );
    expect(wardAt(holed, { lat: 0.5, lon: 0.5 })?.name).toBe("Ring");
    expect(wardAt(holed, { lat: 2, lon: 2 })).toBeNull();
  });

  it("reads nothing from boundaries it cannot read", () => {
    expect(readWards(null)).toEqual([]);
    expect(readWards("not json")).toEqual([]);
    expect(readWards('{"type":"FeatureCollection"}')).toEqual([]);
  });
});

describe("the mock device's grid references", () => {
  it("is within 10 m of the OSTN15 test point (Helmert is about 5 m out)", () => {
    // ETRS89 49.92226394, -6.29977752 → E 91492.146, N 11318.804 (OSTN15 test points).
    const bng = approximateBng(49.92226394, -6.29977752)!;
    expect(Math.hypot(bng.easting - 91492.146, bng.northing - 11318.804)).toBeLessThan(10);
    expect(bng.grid_ref).toMatch(/^SV 914\d\d 113\d\d$/);
  });

  it("letters the 100 km squares", () => {
    expect(gridRef(530047, 180422)).toBe("TQ 30047 80422");
    expect(gridRef(468381, 235640)).toBe("SP 68381 35640");
    expect(gridRef(325000, 673000)).toBe("NT 25000 73000");
    expect(gridRef(-5, 10)).toBeNull();
    expect(approximateBng(40, 10)).toBeNull();
  });
});

describe("the mock device's photo checks", () => {
  it("takes a JPEG or PNG and reads its size", () => {
    expect(checkPhoto(fakeJpeg(4032, 3024), "IMG_0001.JPG")).toEqual({ mime: "image/jpeg", width: 4032, height: 3024 });
    expect(checkPhoto(fakePng(800, 600), "plan.png")).toEqual({ mime: "image/png", width: 800, height: 600 });
    expect(checkPhoto(fakeJpeg(), null).mime).toBe("image/jpeg");
  });

  it("refuses with the device's codes and words", () => {
    expect(refusal(() => checkPhoto(new Uint8Array(), "a.jpg")).toDto()).toEqual({
      code: "empty",
      message: "this file is empty: add the photo again",
      field: "photo",
    });
    const big = refusal(() => checkPhoto(new Uint8Array(40 * 1024 * 1024 + 1), "big.jpg"));
    expect(big.code).toBe("too_large");
    expect(big.message).toBe("this photo is 40.1 MB but the largest allowed is 40 MB");
    const heic = new Uint8Array([0, 0, 0, 24, ...new TextEncoder().encode("ftypheic"), 0, 0, 0, 0, ...new TextEncoder().encode("mif1heic")]);
    expect(refusal(() => checkPhoto(heic, "IMG_0002.HEIC")).code).toBe("heic_unsupported");
    expect(refusal(() => checkPhoto(new TextEncoder().encode("GIF89a......"), "a.gif")).message).toBe(
      "this file is a GIF image: only JPEG and PNG photos can be added",
    );
    expect(refusal(() => checkPhoto(new TextEncoder().encode("minutes of the meeting"), "minutes.jpg")).code).toBe("unsupported_format");
    expect(refusal(() => checkPhoto(fakePng(), "photo.jpg")).message).toBe("this file is called .jpg but is a PNG image");
    expect(refusal(() => checkPhoto(fakeJpeg().slice(0, 20), "cut.jpg")).code).toBe("corrupt");
    expect(refusal(() => checkPhoto(fakePng(20000, 20000), "huge.png")).message).toBe(
      "this photo is 20000 × 20000 pixels (400 megapixels) but the largest allowed is 100 megapixels",
    );
  });
});
