// The mock device's photo checks, in the order and words of `fieldbook-media` (crates/media):
// empty, too large, not a JPEG or PNG (HEIC named apart), a name that says another format, cut
// short, too many pixels. It reads only what the checks need (magic bytes, the PNG header, the
// JPEG frame header, the end marker); nothing is decoded.
import { BackendError } from "./backend";
import { MAX_PHOTO_BYTES, tooLargeWords } from "./photo-words";

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
  if (bytes.length > MAX_PHOTO_BYTES) throw refuse("too_large", tooLargeWords(bytes.length));
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

/** SHA-256 of the bytes, as 64 lower-case hex digits (the device names photos by it). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  // A copy: `digest` takes no view of shared memory, which a plain Uint8Array may be.
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(data));
  return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
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
