// The mock device's photo checks, in the order and words of `fieldbook-media` (crates/media):
// empty, too large, not a JPEG or PNG (HEIC named apart), a name that says another format, cut
// short, too many pixels. It reads only what the checks need (magic bytes, the PNG header, the
// JPEG frame header, the end marker); nothing is decoded.
import { BackendError } from "./backend";
import { MAX_PHOTO_BYTES } from "./photo-words";

type Kind = "jpeg" | "png" | "heic" | "avif" | "gif" | "webp" | "tiff" | "bmp" | "pdf" | "video";

const DESCRIBED: Record<Kind, string> = {
  jpeg: "a JPEG image",
  png: "a PNG image",
  heic: "an HEIC image",
  avif: "an AVIF image",
  gif: "a GIF image",
  webp: "a WebP image",
  tiff: "a TIFF or camera raw image",
  bmp: "a BMP image",
  pdf: "a PDF document",
  video: "a video",
};

const MAX_PIXELS = 100_000_000;

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

function sniff(b: Uint8Array): Kind | null {
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (ascii(b, 0, 8) === "\x89PNG\r\n\x1a\n") return "png";
  if (ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a") return "gif";
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") return "webp";
  if (ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*") return "tiff";
  if (ascii(b, 0, 2) === "BM" && b.length > 14) return "bmp";
  if (ascii(b, 0, 5) === "%PDF-") return "pdf";
  if (ascii(b, 4, 8) === "ftyp") {
    const brands = ascii(b, 8, Math.min(b.length, 64));
    if (/avi[fs]/.test(brands)) return "avif";
    if (/hei[cxms]|hev[cxms]|mif1|msf1/.test(brands)) return "heic";
    return "video";
  }
  return null;
}

function declared(name: string): Kind | null {
  const ext = name.trim().toLowerCase().split(".").pop() ?? "";
  const kinds: Record<string, Kind> = {
    jpg: "jpeg", jpeg: "jpeg", jpe: "jpeg", jfif: "jpeg", png: "png", heic: "heic", heif: "heic",
    avif: "avif", gif: "gif", webp: "webp", tif: "tiff", tiff: "tiff", bmp: "bmp", pdf: "pdf",
    mp4: "video", mov: "video",
  };
  return name.includes(".") ? (kinds[ext] ?? null) : null;
}

function megabytes(bytes: number, roundUp: boolean): string {
  const mb = bytes / 1048576;
  if (Number.isInteger(mb)) return `${mb} MB`;
  return `${(roundUp ? Math.ceil(mb * 10) / 10 : mb).toFixed(1)} MB`;
}

/** Width and height from the PNG header or the JPEG frame header; null when not found. */
function dimensions(b: Uint8Array, kind: "jpeg" | "png"): { width: number; height: number } | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (kind === "png") return b.length >= 24 ? { width: view.getUint32(16), height: view.getUint32(20) } : null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    const length = view.getUint16(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
    }
    i += 2 + length;
  }
  return null;
}

function complete(b: Uint8Array, kind: "jpeg" | "png"): boolean {
  if (kind === "png") return ascii(b, Math.max(0, b.length - 12), b.length).includes("IEND");
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return end >= 4 && b[end - 2] === 0xff && b[end - 1] === 0xd9;
}

/** What the checks found in a file they accepted. */
export interface Checked {
  mime: string;
  width: number;
  height: number;
}

/** Check a photo file as the device does; throws the device's refusal (field `photo`). */
export function checkPhoto(bytes: Uint8Array, fileName: string | null): Checked {
  const refuse = (code: string, message: string) => new BackendError(code, message, "photo");
  if (bytes.length === 0) throw refuse("empty", "this file is empty: add the photo again");
  if (bytes.length > MAX_PHOTO_BYTES) {
    throw refuse(
      "too_large",
      `this photo is ${megabytes(bytes.length, true)} but the largest allowed is ${megabytes(MAX_PHOTO_BYTES, false)}`,
    );
  }
  const kind = sniff(bytes);
  if (kind === "heic") {
    throw refuse("heic_unsupported", "HEIC photos are not supported yet: export the photo as JPEG and add it again");
  }
  if (kind !== "jpeg" && kind !== "png") {
    throw refuse(
      "unsupported_format",
      `${kind === null ? "this file is not a JPEG or PNG photo" : `this file is ${DESCRIBED[kind]}`}: only JPEG and PNG photos can be added`,
    );
  }
  const claimed = fileName === null ? null : declared(fileName);
  if (claimed !== null && claimed !== kind) {
    const ext = fileName!.trim().split(".").pop() ?? "";
    throw refuse("mislabelled", `this file is called .${ext} but is ${DESCRIBED[kind]}`);
  }
  const size = dimensions(bytes, kind);
  if (!complete(bytes, kind) || size === null) {
    throw refuse("corrupt", `this ${kind === "jpeg" ? "JPEG" : "PNG"} is damaged or incomplete: copy it from the camera again`);
  }
  if (size.width * size.height > MAX_PIXELS) {
    const mp = (size.width * size.height) / 1e6;
    throw refuse(
      "too_many_pixels",
      `this photo is ${size.width} × ${size.height} pixels (${mp >= 10 ? Math.round(mp) : mp.toFixed(1)} megapixels) but the largest allowed is 100 megapixels`,
    );
  }
  return { mime: kind === "jpeg" ? "image/jpeg" : "image/png", ...size };
}

// ------------------------------------------------------------------ SHA-256

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256 of the bytes, as 64 lower-case hex digits (the device names photos by it). */
export function sha256Hex(data: Uint8Array): string {
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const blocks = Math.ceil((data.length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(data.length / 0x20000000));
  view.setUint32(padded.length - 4, (data.length * 8) >>> 0);
  const w = new Uint32Array(64);
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
      const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0]! + a) >>> 0;
    h[1] = (h[1]! + b) >>> 0;
    h[2] = (h[2]! + c) >>> 0;
    h[3] = (h[3]! + d) >>> 0;
    h[4] = (h[4]! + e) >>> 0;
    h[5] = (h[5]! + f) >>> 0;
    h[6] = (h[6]! + g) >>> 0;
    h[7] = (h[7]! + hh) >>> 0;
  }
  return [...h].map((x) => x.toString(16).padStart(8, "0")).join("");
}

// ------------------------------------------------------------------ test files

/** A tiny but complete JPEG header of the given size (tests and dev fixtures; not decodable). */
export function fakeJpeg(width = 1600, height = 1200, seed = 0): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0xff, 0xd8, // SOI
    0xff, 0xe0, 0x00, 0x06, 0x4a, 0x46, 0x49, seed & 0xff, // APP0, with a byte that varies
    0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03,
    0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01,
    0xff, 0xd9, // EOI
  ]);
}

/** A PNG header and end chunk of the given size (tests; not decodable). */
export function fakePng(width = 800, height = 600): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8 + 25 + 12);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(b.buffer);
  v.setUint32(8, 13);
  b.set([0x49, 0x48, 0x44, 0x52], 12);
  v.setUint32(16, width);
  v.setUint32(20, height);
  b.set([8, 2, 0, 0, 0], 24);
  v.setUint32(33, 0);
  b.set([0x49, 0x45, 0x4e, 0x44], 37);
  return b;
}
