// What sync's codes mean, in plain words for the person holding the device. The device's own
// message (from the client or the server) is the fallback for a code not listed here.
import type { SyncActivityDto, SyncStatusDto } from "./backend";
import { sentence } from "./autosave.svelte";
import { formatDateTime, thousands } from "./format";
import { photoWords } from "./photo-words";
import type { PhotoProgressDto } from "../bindings/PhotoProgressDto";

/** Codes after which only signing in again helps. */
export const SIGN_IN_AGAIN = new Set(["token_expired", "unauthorised", "unknown_device"]);

/**
 * Why signing in (or a sync) failed, for the sign-in form and the status line. `deviceNumber`
 * names the number another device holds when the server says it is taken.
 */
export function signInWords(code: string, message: string, deviceNumber?: number): string {
  switch (code) {
    case "bad_credentials":
      return "The user name or password is not right. Check them and try again";
    case "too_many_attempts":
      return "There have been too many attempts to sign in with a wrong password. Wait 15 minutes, then try again";
    case "insecure_server":
      return "The server address must start with https:// (only a server on this computer may use http://)";
    case "invalid_server":
      return "Enter the server address your IT team gave you, like https://fieldbook.anytown.gov.uk";
    case "server_unreachable":
      return "Fieldbook cannot reach the server. Check this device is connected to the internet and the address is right, then try again";
    case "device_number_taken":
      return `Another device is already registered with this device’s number${deviceNumber === undefined ? "" : ` (${deviceNumber})`}. Two devices with the same number would give cases the same references, so ask your administrator to give this device a new number or remove the other device`;
    case "device_taken":
      return "This device is already signed in as someone else. Each person needs their own device set-up: ask your administrator";
    case "person_taken":
      return "The person this device was set up for is already linked to another user on the server. Ask your administrator to check your account";
    case "device_revoked":
      return "This device was removed from Fieldbook by your administrator";
    case "token_expired":
      return "Your sign-in has expired. Sign in again to carry on syncing";
    case "unauthorised":
    case "unknown_device":
      return "The server no longer recognises this device. Sign in again to carry on syncing";
    case "not_signed_in":
      return "This device is not signed in to a server yet";
    case "hash_mismatch":
    case "photos_unavailable":
      return photoWords(code, message);
    default:
      return sentence(message);
  }
}

/** Why the server refused a case's changes, in plain words. */
export function refusalWords(code: string, message: string): string {
  switch (code) {
    case "not_your_case":
      return "You can only change cases assigned to you or that you created. This case is not one of yours on the server";
    case "may_not_reassign":
      return "Only a team leader can assign a case to someone else";
    case "transition_not_allowed":
      return "The case’s status cannot change that way. A team leader may have changed it first";
    case "case_locked":
      return "The case can no longer be changed on the server: it has been submitted, approved or closed";
    case "immutable_field":
      return "Part of the case that can never change after it is created (such as its reference) was changed";
    case "visit_incomplete":
      return "A visit is missing answers the server needs before the case can be submitted";
    default:
      return sentence(message);
  }
}

/** A last-synced moment as "14:05" when it was today (UK time), else "24 November 2026, 14:05". */
export function syncedAt(iso: string, now: Date = new Date()): string {
  const full = formatDateTime(iso);
  const today = formatDateTime(now.toISOString());
  const [day, time] = full.split(", ");
  return day === today.split(", ")[0] && time !== undefined ? time : full;
}

/**
 * Photos on their way: "Sending photos: 2 of 5" (photos done of all), and how far the one being
 * sent now has got, "(40% of the next)", while one is part-sent.
 */
export function photoProgressText(p: PhotoProgressDto): string {
  const count = `Sending photos: ${thousands(p.done)} of ${thousands(p.total)}`;
  if (p.size <= 0 || p.sent <= 0 || p.sent >= p.size) return count;
  const percent = Math.min(99, Math.floor((p.sent / p.size) * 100));
  return `${count} (${percent}% of the next)`;
}

/** The short state the status line's tag shows, and its colour. */
export interface SyncLine {
  tag: string;
  tagClass: string;
  /** The words beside the tag. */
  text: string;
  /** What a screen reader hears when the state changes (never the running count). */
  announce: string;
  /** The action offered: sign in, sign in again, try again, sync now, or none. */
  action: "sign-in" | "sign-in-again" | "try-again" | "sync-now" | null;
}

/** What the status line says, from the stored sync status and the live activity. */
export function syncLine(status: SyncStatusDto | null, activity: SyncActivityDto, outbox: string, now?: Date): SyncLine {
  if (status === null || status.server === null) {
    return {
      tag: "Not signed in",
      tagClass: "govuk-tag--grey",
      text: outbox,
      announce: "Not signed in",
      action: "sign-in",
    };
  }
  const last = status.last_sync_at === null ? "" : ` · last synced ${syncedAt(status.last_sync_at, now)}`;
  if (activity.photos !== null && activity.photos !== undefined && activity.state !== "offline" && activity.state !== "revoked") {
    return {
      tag: "Syncing",
      tagClass: "govuk-tag--blue",
      text: photoProgressText(activity.photos),
      announce: "Sending photos",
      action: null,
    };
  }
  if (activity.state === "syncing") {
    const text = activity.total > 0 ? `Syncing ${thousands(activity.pulled)} of ${thousands(activity.total)}` : "Syncing…";
    return { tag: "Syncing", tagClass: "govuk-tag--blue", text, announce: "Syncing", action: null };
  }
  if (activity.state === "offline") {
    return {
      tag: "Offline",
      tagClass: "govuk-tag--grey",
      text: `${outbox}${last}`,
      announce: "Offline",
      action: "try-again",
    };
  }
  const error = activity.error ?? (status.last_error === null ? null : { code: "", message: status.last_error });
  if (error !== null) {
    const again = SIGN_IN_AGAIN.has(error.code);
    const words = signInWords(error.code, error.message);
    return {
      tag: "Not synced",
      tagClass: "govuk-tag--red",
      text: `${words}${last}`,
      announce: `Not synced. ${words}`,
      action: again ? "sign-in-again" : "try-again",
    };
  }
  if (status.outbox_changes > 0) {
    return { tag: "Waiting to sync", tagClass: "govuk-tag--yellow", text: `${outbox}${last}`, announce: "Waiting to sync", action: "sync-now" };
  }
  if (status.last_sync_at === null) {
    return { tag: "Not synced yet", tagClass: "govuk-tag--grey", text: outbox, announce: "Not synced yet", action: "sync-now" };
  }
  return {
    tag: "Up to date",
    tagClass: "govuk-tag--green",
    text: `Last synced ${syncedAt(status.last_sync_at, now)}`,
    announce: "Up to date",
    action: "sync-now",
  };
}
