// What the device's codes for photos and places mean, in plain words for the officer. The
// photo checks (`fieldbook-media`) already write their messages for the person who chose the
// file, naming the size, the limit or the format ("this photo is 52.1 MB but the largest
// allowed is 40 MB"), so those are used as they come, as a sentence; the fixed words below are
// for when a message is missing, and for the codes whose message was written for programs.
import { sentence } from "./autosave.svelte";
import type { PhotoDto, VisitDto } from "./backend";
import { formatDateTime, megabytesText } from "./format";

/** The device's largest photo file (`fieldbook_media::Settings::default().max_bytes`: 40 MiB). */
export const MAX_PHOTO_BYTES = 40 * 1024 * 1024;

/** What a file chooser offers: the formats the device takes, and HEIC so it can say why not. */
export const PHOTO_ACCEPT = "image/jpeg,image/png,.jpg,.jpeg,.png,.heic";

/** Codes whose message the device wrote for the officer (the photo checks). */
const OWN_WORDS = new Set([
  "too_large",
  "too_many_pixels",
  "empty",
  "corrupt",
  "unsupported_format",
  "heic_unsupported",
  "mislabelled",
  "invalid_location",
  "too_long",
]);

/** Why a photo, a place or a location was refused, as a sentence without a full stop. */
export function photoWords(code: string, message = ""): string {
  if (OWN_WORDS.has(code) && message.trim() !== "") return sentence(message);
  switch (code) {
    case "too_large":
      return "The photo is too big. Photos must be 40 MB or smaller";
    case "too_many_pixels":
      return "The photo has too many pixels. Photos must be 100 megapixels or smaller";
    case "empty":
      return "The file is empty. Add the photo again";
    case "corrupt":
      return "The photo is damaged or incomplete. Copy it from the camera again";
    case "unsupported_format":
      return "The file must be a JPEG or PNG photo";
    case "heic_unsupported":
      return "HEIC photos are not supported: export the photo as JPEG and add it again";
    case "mislabelled":
      return "The file’s name does not match what is in it. Check it is the photo you meant";
    case "hash_mismatch":
      return "The photo was damaged on the way to the server; it will be sent again";
    case "photos_unavailable":
      return "The council’s server cannot take photos at the moment; they stay on this device and are sent later";
    case "no_gazetteer":
      return "No address list is loaded on this device: ask your administrator";
    case "invalid_location":
      return "That is not a possible location. Latitude must be between -90 and 90, and longitude between -180 and 180";
    case "unknown_photo":
      return "That photo is no longer on this case";
    case "unknown_visit":
      return "That visit is no longer on this case";
    case "server_unreachable":
      return "Fieldbook cannot reach the server. Try again when this device is online";
    case "not_signed_in":
      return "This device is not signed in to the council’s server, so it cannot fetch photos taken on other devices";
    case "case_locked":
      return "The case can no longer change";
    default:
      return message.trim() === "" ? "Something went wrong" : sentence(message);
  }
}

/**
 * The size check the device makes, in the device's words (`fieldbook-media`, shown through
 * `photoWords`): made here before the file is read (a 500 MB video picked by mistake is not read
 * into memory to be refused), and by the mock device.
 */
export function tooLargeWords(bytes: number): string {
  return `this photo is ${megabytesText(bytes)} but the largest allowed is ${megabytesText(MAX_PHOTO_BYTES, false)}`;
}

// ------------------------------------------------------------------ a case's photos

/** A photo's alternative text: its caption, else its number and when it was taken. */
export function photoAlt(photo: PhotoDto, number: number): string {
  if (photo.caption.trim() !== "") return photo.caption;
  return photo.taken_at === null ? `Photo ${number}` : `Photo ${number}, taken ${formatDateTime(photo.taken_at)}`;
}

/** "Visit 2: Food hygiene inspection": the visit a photo belongs to; null if not on the case. */
export function visitName(visits: readonly VisitDto[], id: string | null): string | null {
  const i = id === null ? -1 : visits.findIndex((v) => v.id === id);
  return i < 0 ? null : `Visit ${i + 1}: ${visits[i]!.template_title}`;
}

/** The choices of a photo's "Visit" select: none, then each visit with when it started. */
export function visitOptions(visits: readonly VisitDto[]): Array<{ value: string; text: string }> {
  return [
    { value: "", text: "Not part of a visit" },
    ...visits.map((v, i) => ({ value: v.id, text: `Visit ${i + 1}: ${v.template_title}, ${formatDateTime(v.started_at)}` })),
  ];
}
