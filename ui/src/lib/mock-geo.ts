// The mock device's places: British National Grid coordinates by a plain Helmert transform
// (WGS84 → OSGB36, then the National Grid's transverse Mercator projection), about 5 metres out
// where the real device uses OSTN15; synthetic wards and an address list for a made-up town,
// Millbrook (the same shapes as crates/core/tests/data/wards_millbrook.geojson). Made-up data
// only: no real addresses.
import type { BngDto } from "../bindings/BngDto";
import type { PlaceDto } from "../bindings/PlaceDto";
import { readWards, wardAt } from "./geo";

const RAD = Math.PI / 180;

/** WGS84 (GRS80) → OSGB36 (Airy 1830) by the Ordnance Survey's 7-parameter Helmert transform. */
function helmert(lat: number, lon: number): { lat: number; lon: number } {
  // To cartesian on GRS80.
  const a1 = 6378137;
  const b1 = 6356752.3141;
  const e1 = 1 - (b1 * b1) / (a1 * a1);
  const phi = lat * RAD;
  const lam = lon * RAD;
  const nu1 = a1 / Math.sqrt(1 - e1 * Math.sin(phi) ** 2);
  const x1 = nu1 * Math.cos(phi) * Math.cos(lam);
  const y1 = nu1 * Math.cos(phi) * Math.sin(lam);
  const z1 = nu1 * (1 - e1) * Math.sin(phi);
  // Helmert, WGS84 → OSGB36.
  const tx = -446.448;
  const ty = 125.157;
  const tz = -542.06;
  const s = 20.4894e-6;
  const sec = RAD / 3600;
  const rx = -0.1502 * sec;
  const ry = -0.247 * sec;
  const rz = -0.8421 * sec;
  const x2 = tx + (1 + s) * x1 - rz * y1 + ry * z1;
  const y2 = ty + rz * x1 + (1 + s) * y1 - rx * z1;
  const z2 = tz - ry * x1 + rx * y1 + (1 + s) * z1;
  // Back to latitude and longitude on Airy 1830.
  const a2 = 6377563.396;
  const b2 = 6356256.909;
  const e2 = 1 - (b2 * b2) / (a2 * a2);
  const p = Math.sqrt(x2 * x2 + y2 * y2);
  let phi2 = Math.atan2(z2, p * (1 - e2));
  for (let i = 0; i < 10; i++) {
    const nu = a2 / Math.sqrt(1 - e2 * Math.sin(phi2) ** 2);
    phi2 = Math.atan2(z2 + e2 * nu * Math.sin(phi2), p);
  }
  return { lat: phi2 / RAD, lon: Math.atan2(y2, x2) / RAD };
}

/** OSGB36 latitude and longitude → National Grid easting and northing (OS formulae). */
function project(lat: number, lon: number): { easting: number; northing: number } {
  const a = 6377563.396;
  const b = 6356256.909;
  const F0 = 0.9996012717;
  const phi0 = 49 * RAD;
  const lam0 = -2 * RAD;
  const N0 = -100000;
  const E0 = 400000;
  const e2 = 1 - (b * b) / (a * a);
  const n = (a - b) / (a + b);
  const phi = lat * RAD;
  const lam = lon * RAD;
  const sin = Math.sin(phi);
  const cos = Math.cos(phi);
  const tan = Math.tan(phi);
  const nu = (a * F0) / Math.sqrt(1 - e2 * sin * sin);
  const rho = (a * F0 * (1 - e2)) / (1 - e2 * sin * sin) ** 1.5;
  const eta2 = nu / rho - 1;
  const dp = phi - phi0;
  const sp = phi + phi0;
  const M =
    b *
    F0 *
    ((1 + n + (5 / 4) * n ** 2 + (5 / 4) * n ** 3) * dp -
      (3 * n + 3 * n ** 2 + (21 / 8) * n ** 3) * Math.sin(dp) * Math.cos(sp) +
      ((15 / 8) * n ** 2 + (15 / 8) * n ** 3) * Math.sin(2 * dp) * Math.cos(2 * sp) -
      (35 / 24) * n ** 3 * Math.sin(3 * dp) * Math.cos(3 * sp));
  const I = M + N0;
  const II = (nu / 2) * sin * cos;
  const III = (nu / 24) * sin * cos ** 3 * (5 - tan ** 2 + 9 * eta2);
  const IIIA = (nu / 720) * sin * cos ** 5 * (61 - 58 * tan ** 2 + tan ** 4);
  const IV = nu * cos;
  const V = (nu / 6) * cos ** 3 * (nu / rho - tan ** 2);
  const VI = (nu / 120) * cos ** 5 * (5 - 18 * tan ** 2 + tan ** 4 + 14 * eta2 - 58 * tan ** 2 * eta2);
  const dl = lam - lam0;
  return {
    northing: I + II * dl ** 2 + III * dl ** 4 + IIIA * dl ** 6,
    easting: E0 + IV * dl + V * dl ** 3 + VI * dl ** 5,
  };
}

/** "TQ 30047 80422" from easting and northing (to the metre), or null off the grid's squares. */
export function gridRef(easting: number, northing: number): string | null {
  if (!(easting >= 0 && easting < 700000 && northing >= 0 && northing < 1300000)) return null;
  const e100k = Math.floor(easting / 100000);
  const n100k = Math.floor(northing / 100000);
  let l1 = 19 - n100k - ((19 - n100k) % 5) + Math.floor((e100k + 10) / 5);
  let l2 = (((19 - n100k) * 5) % 25) + (e100k % 5);
  if (l1 > 7) l1++;
  if (l2 > 7) l2++;
  const letters = String.fromCharCode(65 + l1) + String.fromCharCode(65 + l2);
  const digits = (v: number) => String(Math.floor(v % 100000)).padStart(5, "0");
  return `${letters} ${digits(easting)} ${digits(northing)}`;
}

/** A WGS84 point's National Grid coordinates (Helmert: about 5 m out), or null off the grid. */
export function approximateBng(lat: number, lon: number): BngDto | null {
  if (lat < 49 || lat > 61.5 || lon < -9 || lon > 2.5) return null;
  const osgb = helmert(lat, lon);
  const { easting, northing } = project(osgb.lat, osgb.lon);
  const mm = (v: number) => Math.round(v * 1000) / 1000;
  return { easting: mm(easting), northing: mm(northing), grid_ref: gridRef(easting, northing) };
}

/** Millbrook's wards: synthetic shapes and codes, not real boundaries. */
export const MILLBROOK_WARDS = JSON.stringify({
  type: "FeatureCollection",
  features: [
    {
      type: "Feature",
      properties: { code: "E05900001", name: "Millbrook North" },
      geometry: {
        type: "MultiPolygon",
        coordinates: [[[[-1.02, 52.0], [-1.0, 52.0], [-1.0, 52.02], [-1.02, 52.02], [-1.02, 52.0]]]],
      },
    },
    {
      type: "Feature",
      properties: { code: "E05900002", name: "Millbrook South" },
      geometry: {
        type: "MultiPolygon",
        coordinates: [[[[-1.02, 51.98], [-1.0, 51.98], [-1.0, 52.0], [-1.02, 52.0], [-1.02, 51.98]]]],
      },
    },
    {
      type: "Feature",
      properties: { code: "E05900003", name: "Millbrook East and Islands" },
      geometry: {
        type: "MultiPolygon",
        coordinates: [
          [[[-1.0, 51.98], [-0.98, 51.98], [-0.98, 52.02], [-1.0, 52.02], [-1.0, 51.98]]],
          [[[-0.96, 51.99], [-0.95, 51.99], [-0.95, 52.0], [-0.96, 52.0], [-0.96, 51.99]]],
        ],
      },
    },
  ],
});

const WARDS = readWards(MILLBROOK_WARDS);

/** The ward a point is in, as the device gives it (none outside the wards). */
export function mockWard(lat: number, lon: number): { code: string; name: string } | null {
  const w = wardAt(WARDS, { lat, lon });
  return w === null ? null : { code: w.code, name: w.name };
}

/** Millbrook's centre: the mock's cases lie around it. */
export const MILLBROOK = { lat: 52.0, lon: -1.0 };

function placeAt(uprn: number, address: string, postcode: string, lat: number, lon: number): PlaceDto {
  return { uprn, address, postcode, lat, lon, bng: approximateBng(lat, lon)!, ward: mockWard(lat, lon) };
}

/** A small synthetic address list (UPRNs from 900000000001: not real properties). */
export const MILLBROOK_PLACES: readonly PlaceDto[] = [
  placeAt(900000000001, "1 Mill Lane, Millbrook", "MB1 1AA", 52.0061, -1.0102),
  placeAt(900000000002, "3 Mill Lane, Millbrook", "MB1 1AA", 52.0063, -1.0098),
  placeAt(900000000003, "5 Mill Lane, Millbrook", "MB1 1AA", 52.0065, -1.0094),
  placeAt(900000000010, "The Old Forge, Church Road, Millbrook", "MB2 4DX", 51.9912, -1.0051),
  placeAt(900000000020, "Unit 4, Canal Street, Millbrook", "MB3 7QP", 52.0102, -0.9903),
];
