// The one door between the UI and the device. Screens never call Tauri (or anything else)
// directly: they receive a `Backend`, so tests and the browser dev mode can hand them the mock.
import type { AddVisitArgs } from "../bindings/AddVisitArgs";
import type { AnswerArgs } from "../bindings/AnswerArgs";
import type { CaseDto } from "../bindings/CaseDto";
import type { CasePageDto } from "../bindings/CasePageDto";
import type { DeviceDto } from "../bindings/DeviceDto";
import type { DraftDto } from "../bindings/DraftDto";
import type { EditCaseArgs } from "../bindings/EditCaseArgs";
import type { ErrorDto } from "../bindings/ErrorDto";
import type { HistoryEntryDto } from "../bindings/HistoryEntryDto";
import type { InitArgs } from "../bindings/InitArgs";
import type { ListArgs } from "../bindings/ListArgs";
import type { NewCaseArgs } from "../bindings/NewCaseArgs";
import type { NoteArgs } from "../bindings/NoteArgs";
import type { TemplateDto } from "../bindings/TemplateDto";
import type { TransitionArgs } from "../bindings/TransitionArgs";
import type { SignInArgs } from "../bindings/SignInArgs";
import type { SignedInDto } from "../bindings/SignedInDto";
import type { SyncReportDto } from "../bindings/SyncReportDto";
import type { SyncStatusDto } from "../bindings/SyncStatusDto";
import type { SyncActivityDto } from "../bindings/SyncActivityDto";
import type { RefusedCaseDto } from "../bindings/RefusedCaseDto";
import type { ConflictDto } from "../bindings/ConflictDto";
import type { ConflictValueDto } from "../bindings/ConflictValueDto";
import type { ResolveConflictArgs } from "../bindings/ResolveConflictArgs";
import type { PhotoDto } from "../bindings/PhotoDto";
import type { PhotoAddedDto } from "../bindings/PhotoAddedDto";
import type { AddPhotoArgs } from "../bindings/AddPhotoArgs";
import type { EditPhotoArgs } from "../bindings/EditPhotoArgs";
import type { PlaceDto } from "../bindings/PlaceDto";
import type { MapDto } from "../bindings/MapDto";
import type { LocationDto } from "../bindings/LocationDto";
import type { PhotoProgressDto } from "../bindings/PhotoProgressDto";
import type { CaseSummaryDto } from "../bindings/CaseSummaryDto";
import type { VisitDto } from "../bindings/VisitDto";

export type {
  AddVisitArgs,
  AnswerArgs,
  CaseDto,
  CasePageDto,
  DeviceDto,
  DraftDto,
  EditCaseArgs,
  ErrorDto,
  HistoryEntryDto,
  InitArgs,
  ListArgs,
  NewCaseArgs,
  NoteArgs,
  TemplateDto,
  TransitionArgs,
  SignInArgs,
  SignedInDto,
  SyncReportDto,
  SyncStatusDto,
  SyncActivityDto,
  RefusedCaseDto,
  ConflictDto,
  ConflictValueDto,
  ResolveConflictArgs,
  PhotoDto,
  PhotoAddedDto,
  AddPhotoArgs,
  EditPhotoArgs,
  PlaceDto,
  MapDto,
  LocationDto,
  PhotoProgressDto,
  CaseSummaryDto,
  VisitDto,
};

/** Which version of a photo: the thumbnail the gallery shows, or the full display version. */
export type PhotoVariant = "thumb" | "full";

/** Mirrors the device API in `crates/app/src/lib.rs`. Every method rejects with a `BackendError`. */
export interface Backend {
  /** Who this device is; rejects with `locked`, or `not_initialised` before set-up. */
  device(): Promise<DeviceDto>;
  /** Set up a new device (and unlock it). */
  initDevice(args: InitArgs): Promise<DeviceDto>;
  unlock(passphrase: string): Promise<DeviceDto>;
  lock(): Promise<void>;
  listCases(args: ListArgs): Promise<CasePageDto>;
  /** A case by its reference (or id). */
  openCase(reference: string): Promise<CaseDto>;
  createCase(args: NewCaseArgs): Promise<CaseDto>;
  editCase(args: EditCaseArgs): Promise<CaseDto>;
  addVisit(args: AddVisitArgs): Promise<CaseDto>;
  answer(args: AnswerArgs): Promise<CaseDto>;
  addNote(args: NoteArgs): Promise<CaseDto>;
  submit(caseRef: string): Promise<CaseDto>;
  transition(args: TransitionArgs): Promise<CaseDto>;
  history(caseRef: string): Promise<HistoryEntryDto[]>;
  templates(): Promise<TemplateDto[]>;
  /** Keep what was typed into one form field (durably) until it is saved into a case. */
  saveDraft(key: string, value: string): Promise<void>;
  /** The drafts whose keys start with `prefix`. */
  drafts(prefix: string): Promise<DraftDto[]>;
  /** Forget the drafts whose keys start with `prefix` (a non-empty prefix). */
  clearDrafts(prefix: string): Promise<number>;
  /** Register this device with the council's server; a sync starts straight after. */
  signIn(args: SignInArgs): Promise<SignedInDto>;
  /**
   * Sync now (after any sync already running). A revoked device is wiped and rejects with
   * `device_revoked`; `syncActivity()` then gives the reason.
   */
  syncNow(): Promise<SyncReportDto>;
  /** The server this device is signed in to, the last sync, what waits, what was refused. */
  syncStatus(): Promise<SyncStatusDto>;
  /** What the background sync is doing now. Never rejects. */
  syncActivity(): Promise<SyncActivityDto>;
  /** Hear every change of the background sync's activity; returns the function that stops it. */
  onSyncActivity(listener: (activity: SyncActivityDto) => void): () => void;
  /** The fields of a case two people changed at the same time, with each value and who gave it. */
  conflicts(caseRef: string): Promise<ConflictDto[]>;
  /** Keep one value of a conflict (an ordinary edit of that field, synced like any other). */
  resolveConflict(args: ResolveConflictArgs): Promise<CaseDto>;

  // ---------------------------------------------------------------- photos and places

  /** A case's photos, oldest first (by the time taken). */
  photos(caseRef: string): Promise<PhotoDto[]>;
  /**
   * Attach a photo file (its bytes as chosen) to a case. Refused files reject with the media
   * codes (`empty`, `too_large`, `too_many_pixels`, `corrupt`, `unsupported_format`,
   * `heic_unsupported`, `mislabelled`; field `photo`) and leave no trace; a file the case
   * already has resolves with `added: false`.
   */
  addPhoto(args: AddPhotoArgs, bytes: Uint8Array): Promise<PhotoAddedDto>;
  /** Change a photo's caption or visit (`visit: ""` unlinks it from its visit). */
  editPhoto(args: EditPhotoArgs): Promise<PhotoDto>;
  /**
   * Make sure the full image is on this device, fetching it from the server when another
   * device took it; false when the server does not have it yet.
   */
  fetchPhoto(caseRef: string, sha256: string): Promise<boolean>;
  /**
   * Where an `<img>` finds one version of a photo (by the case's id, not its reference). The
   * address fails (404) when this device does not hold that version: check `PhotoDto.held`.
   */
  photoUrl(caseId: string, sha256: string, variant: PhotoVariant): string;
  /** A property in the address list by UPRN (digits) or postcode; rejects with `no_gazetteer` when none is loaded. */
  findPlace(query: string): Promise<PlaceDto[]>;
  /** What the map can show on this device: the basemap pack, whether online tiles may be used, the wards. */
  mapInfo(): Promise<MapDto>;
  /** The map tiles' address template (`{z}/{x}/{y}`), for the basemap pack or the council's tile server. */
  tileUrl(): string;
}

/** An `ErrorDto` as a throwable: `code` is stable and machine-readable, `message` is for people. */
export class BackendError extends Error {
  readonly code: string;
  readonly field: string | undefined;

  constructor(code: string, message: string, field?: string) {
    super(message);
    this.name = "BackendError";
    this.code = code;
    this.field = field;
  }

  static fromDto(dto: ErrorDto): BackendError {
    return new BackendError(dto.code, dto.message, dto.field);
  }

  /** Whatever was thrown, as a `BackendError` (IPC rejections arrive as plain `ErrorDto` objects). */
  static from(e: unknown): BackendError {
    if (e instanceof BackendError) return e;
    if (isErrorDto(e)) return BackendError.fromDto(e);
    const message = e instanceof Error ? e.message : String(e);
    return new BackendError("unexpected", message);
  }

  toDto(): ErrorDto {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

function isErrorDto(v: unknown): v is ErrorDto {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.code === "string" &&
    typeof o.message === "string" &&
    (o.field === undefined || typeof o.field === "string")
  );
}

/** A `ListArgs` with every field at its default; override what you need. */
export function listArgs(overrides: Partial<ListArgs> = {}): ListArgs {
  return {
    search: null,
    statuses: [],
    kinds: [],
    assignee: null,
    due_before: null,
    due_after: null,
    sort: null,
    near_lat: null,
    near_lon: null,
    descending: false,
    limit: 50,
    offset: 0,
    ...overrides,
  };
}

/** Where a location came from, as the device API names it (`LocationDto.source`, `location_source`). */
export type LocationSource = "device" | "map" | "gazetteer" | "manual" | "photo_exif";

/** An `EditCaseArgs` that changes nothing; set the fields to change. */
export function editArgs(caseRef: string, overrides: Partial<Omit<EditCaseArgs, "case">> = {}): EditCaseArgs {
  return {
    case: caseRef,
    title: null,
    address: null,
    postcode: null,
    uprn: null,
    due: null,
    lat: null,
    lon: null,
    accuracy_m: null,
    location_source: null,
    clear_location: false,
    ...overrides,
  };
}

/**
 * What a property from the address list sets on a case (New case and the location panel alike):
 * its address and postcode (null where the list has none: what is there stays), its UPRN, and
 * its point, whose accuracy the list does not give.
 */
export function placeFields(p: PlaceDto): {
  address: string | null;
  postcode: string | null;
  uprn: string;
  lat: number;
  lon: number;
  accuracy_m: null;
  location_source: "gazetteer";
} {
  return {
    address: p.address,
    postcode: p.postcode,
    uprn: String(p.uprn),
    lat: p.lat,
    lon: p.lon,
    accuracy_m: null,
    location_source: "gazetteer",
  };
}

/** Case statuses as the device API names them, with the labels people read. */
export const STATUSES: ReadonlyArray<{ value: string; label: string }> = [
  { value: "open", label: "Open" },
  { value: "in_progress", label: "In progress" },
  { value: "submitted", label: "Submitted" },
  { value: "approved", label: "Approved" },
  { value: "returned", label: "Returned" },
  { value: "closed", label: "Closed" },
];

/** Case kinds as the device API names them, with their labels and reference prefixes. */
export const KINDS: ReadonlyArray<{ value: string; label: string; prefix: string }> = [
  { value: "food_hygiene", label: "Food hygiene", prefix: "FH" },
  { value: "housing", label: "Housing (HHSRS)", prefix: "HS" },
  { value: "highways", label: "Highway defect", prefix: "HW" },
  { value: "fly_tipping", label: "Fly-tipping", prefix: "FT" },
  { value: "enforcement", label: "Enforcement", prefix: "EN" },
  { value: "general", label: "General", prefix: "GN" },
];
