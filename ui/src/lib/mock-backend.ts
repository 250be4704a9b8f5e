// An in-memory device for UI tests and the browser dev mode. It follows the device API's rules
// closely enough that screens meet the same answers and error codes as in the app:
// locked until unlocked, `wrong_passphrase`, `empty_title`, `case_not_found`, paging with totals.
import {
  BackendError,
  KINDS,
  STATUSES,
  type AddVisitArgs,
  type AnswerArgs,
  type Backend,
  type CaseDto,
  type CasePageDto,
  type DeviceDto,
  type DraftDto,
  type EditCaseArgs,
  type InitArgs,
  type HistoryEntryDto,
  type ListArgs,
  type NewCaseArgs,
  type NoteArgs,
  type TemplateDto,
  type TransitionArgs,
  type SignInArgs,
  type SignedInDto,
  type SyncReportDto,
  type SyncStatusDto,
  type SyncActivityDto,
  type ConflictDto,
  type ResolveConflictArgs,
  type AddPhotoArgs,
  type EditPhotoArgs,
  type MapDto,
  type PhotoAddedDto,
  type PhotoDto,
  type PhotoVariant,
  type PlaceDto,
} from "./backend";
import { distanceM, isPoint } from "./geo";
import { MILLBROOK, MILLBROOK_PLACES, MILLBROOK_WARDS, approximateBng, mockWard } from "./mock-geo";
import { checkPhoto, sha256Hex } from "./mock-media";
import { MAX_PHOTO_BYTES } from "./photo-words";
import type { DepartureDto } from "../bindings/DepartureDto";
import type { CaseSummaryDto } from "../bindings/CaseSummaryDto";
import type { PersonDto } from "../bindings/PersonDto";
import type { VisitDto } from "../bindings/VisitDto";
import type { ItemDto } from "../bindings/ItemDto";
import type { LocationDto } from "../bindings/LocationDto";
import templatesJson from "../bindings/templates.json";

export const MOCK_PASSPHRASE = "correct horse battery";
const MAX_PAGE = 500;
const YEAR = 2026;
const DEVICE_NUMBER = 1;
/** How long after the last edit the mock syncs by itself (the shell waits 5 seconds). */
const EDIT_PAUSE_MS = 1000;

const ME: PersonDto = { id: "00000000-0000-4000-8000-000000000001", name: "Sam Officer" };

/** Statuses an officer may move a case to, from each status. */
const OFFICER_MOVES: Record<string, string[]> = {
  open: ["in_progress"],
  in_progress: ["submitted"],
  submitted: [],
  approved: [],
  returned: ["in_progress"],
  closed: [],
};
const EDITABLE = new Set(["open", "in_progress", "returned"]);

// The real inspection forms, exactly as the device's `templates` command returns them
// (generated with the bindings from crates/core/templates).
const TEMPLATES: TemplateDto[] = templatesJson as TemplateDto[];

/** Whether a template may be used for a case kind (no kinds listed: any kind). */
function appliesTo(t: TemplateDto, kind: string): boolean {
  return t.case_kinds.length === 0 || t.case_kinds.includes(kind);
}

interface Stored {
  dto: CaseDto;
  updated_at: string;
  history: HistoryEntryDto[];
}

/** The mock's password for every user on its server (the dev server's sign-in uses it). */
export const MOCK_SERVER_PASSWORD = "correct horse battery";

/**
 * The council's server as the mock device meets it. Tests change it to see each answer:
 * take it offline, revoke the device, expire its token, refuse a case, send cases from
 * another device.
 */
export interface MockServer {
  /** User names that may sign in (each with MOCK_SERVER_PASSWORD). */
  users: string[];
  reachable: boolean;
  /** Set: the administrator removed this device, for this reason. */
  revoked: string | null;
  /** The device's token has expired (the person must sign in again). */
  tokenExpired: boolean;
  /** Device numbers other devices already hold. */
  takenNumbers: number[];
  /** Cases other devices sent, which this device pulls on its next sync. */
  incoming: NewCaseArgs[];
  /** Cases (by reference) whose next push the server refuses, with why. */
  refuse: Map<string, { code: string; message: string }>;
  /** Photos (by SHA-256) the server holds: those other devices sent, and those this one sent. */
  photos: Set<string>;
  /** The server has no photo store (it answers 503 `photos_unavailable`). */
  photosUnavailable: boolean;
}

/** What the mock device's map can show (see `MapDto`); tests change it. */
export interface MockMap {
  basemap: MapDto["basemap"];
  online_tiles: boolean;
  /** GeoJSON of the ward boundaries, or none loaded. */
  wards: string | null;
}

/** A photo another device took, as this device receives it with its case (see `receivePhoto`). */
export interface ReceivedPhoto {
  caption?: string;
  visit?: string | null;
  taken_at?: string | null;
  location?: { lat: number; lon: number; accuracy_m?: number | null } | null;
  /** The versions this device holds already (none until thumbnails are fetched). */
  held?: PhotoVariant[];
  /** Whether the other device has sent it to the server yet. Default true. */
  onServer?: boolean;
}

export interface MockOptions {
  /** How many cases the device holds at start (the first few are hand-written). Default 213. */
  cases?: number;
  /** Start unlocked (for screens beyond the unlock one). */
  unlocked?: boolean;
  /** Whether a device is set up (default true); false starts at the set-up screen. */
  initialised?: boolean;
  /** Milliseconds each call waits, to see loading states in dev mode. Default 0. */
  latencyMs?: number;
  /** Signed in to the mock server at start (as olive). Default false. */
  signedIn?: boolean;
  /** The server's state at start; see `MockServer`. */
  server?: Partial<MockServer>;
  /** Sync by itself after sign-in, unlock and edits, as the desktop shell does. Default true. */
  backgroundSync?: boolean;
  /** The address list (gazetteer) loaded on the device: a few synthetic Millbrook places by
   * default; null for none (`findPlace` then rejects with `no_gazetteer`). */
  gazetteer?: PlaceDto[] | null;
  /** What the map can show; see `MockMap`. Default: no basemap, no online tiles, Millbrook's wards. */
  map?: Partial<MockMap>;
}

/** Whether `url` may be used: https, or http to this computer only (as fieldbook-client). */
function checkedUrl(raw: string): string {
  const url = raw.trim().replace(/\/+$/, "");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BackendError("invalid_server", `'${url}' is not a server address, for example https://fieldbook.anytown.gov.uk`);
  }
  if (parsed.hostname === "" || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
    throw new BackendError("invalid_server", `'${url}' is not a server address, for example https://fieldbook.anytown.gov.uk`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host === "::1" || /^127\./.test(host);
  if (parsed.protocol === "http:" && !loopback) {
    throw new BackendError(
      "insecure_server",
      `${url} is not a secure address: use https:// (plain http:// is allowed only to this computer)`,
    );
  }
  return url;
}

function idleActivity(): SyncActivityDto {
  return { state: "idle", pulled: 0, total: 0, error: null, revoked_reason: null, photos: null };
}

type Seed = Pick<NewCaseArgs, "kind" | "title" | "address" | "postcode" | "due"> & {
  status: string;
  at?: { lat: number; lon: number } | null;
};

const SEEDS: Seed[] = [
  { kind: "food_hygiene", title: "The Golden Fork takeaway", address: "12 High Street, Anytown", postcode: "AN1 2BC", due: "2026-03-02", status: "open" },
  { kind: "housing", title: "Damp and mould complaint", address: "Flat 4, 27 Mill Lane, Anytown", postcode: "AN3 7QP", due: "2026-03-05", status: "in_progress", at: { lat: 52.0063, lon: -1.0098 } },
  { kind: "highways", title: "Pothole outside school", address: "Station Road, Anytown", postcode: "AN2 4DX", due: "2026-02-27", status: "submitted" },
  { kind: "fly_tipping", title: "Mattresses dumped in lay-by", address: "Lay-by, Old Quarry Road", postcode: null, due: null, status: "returned" },
  { kind: "enforcement", title: "Untidy land notice follow-up", address: "Plot 9, Canal Street", postcode: "AN5 1LT", due: "2026-04-10", status: "approved" },
];

const STREETS = ["High Street", "Church Road", "Mill Lane", "Station Road", "Park Avenue", "Victoria Street", "Queens Road", "Green Lane"];
const TITLES: Record<string, string[]> = {
  food_hygiene: ["Routine food inspection", "Café re-rating request", "Takeaway complaint"],
  housing: ["HMO licence inspection", "Excess cold complaint", "Disrepair report"],
  highways: ["Damaged kerb", "Pothole report", "Faulty street light"],
  fly_tipping: ["Bags of rubbish dumped", "Builders' waste in alley", "Sofa on verge"],
  enforcement: ["Noise nuisance", "Abandoned vehicle", "Overgrown hedge"],
  general: ["Resident enquiry", "Site check", "Follow-up visit"],
};

/** A location as the device gives it: grid reference (here by Helmert, about 5 m out) and ward. */
function place(lat: number, lon: number, accuracy_m: number | null, source: string, at: string): LocationDto {
  return { lat, lon, accuracy_m, source, at, bng: approximateBng(lat, lon), ward: mockWard(lat, lon) };
}

const LOCATION_SOURCES = ["device", "photo_exif", "map", "gazetteer", "manual"];

/** A point and its source checked as the device checks them (`invalid_location`, field `location`). */
function checkLocation(lat: number | null, lon: number | null, accuracy: number | null, source: string | null): string {
  const bad = (reason: string) => new BackendError("invalid_location", `the location is not possible: ${reason}`, "location");
  const s = source === null || source.trim() === "" ? "manual" : source.trim();
  if (!LOCATION_SOURCES.includes(s)) {
    throw bad(`'${s}' is not a location source (device, photo_exif, map, gazetteer, manual)`);
  }
  if (lat === null || lon === null) return s;
  if (!Number.isFinite(lat) || Math.abs(lat) > 90) throw bad(`latitude ${lat} is outside -90 to 90`);
  if (!Number.isFinite(lon) || Math.abs(lon) > 180) throw bad(`longitude ${lon} is outside -180 to 180`);
  if (accuracy !== null && (!Number.isFinite(accuracy) || accuracy < 0 || accuracy > 100_000)) {
    throw bad(`accuracy ${accuracy} m is not between 0 and 100000 metres`);
  }
  return s;
}

/** A generated case's place: around Millbrook, within about 2 km, the same for the same i. */
function scattered(i: number): { lat: number; lon: number } | null {
  if (i % 7 === 3) return null; // some cases have no location
  const angle = (i * 137.508 * Math.PI) / 180;
  const r = 0.002 + (((i * 37) % 100) / 100) * 0.014;
  return { lat: MILLBROOK.lat + r * Math.sin(angle) * 0.9, lon: MILLBROOK.lon + r * Math.cos(angle) * 1.2 };
}

function labelOf(list: ReadonlyArray<{ value: string; label: string }>, value: string): string {
  return list.find((x) => x.value === value)?.label ?? value;
}

function blank(s: string | null | undefined): string | null {
  return s == null || s.trim() === "" ? null : s.trim();
}

const POSTCODE = /^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}

function normalisePostcode(p: string): string {
  const compact = p.replace(/\s+/g, "").toUpperCase();
  return `${compact.slice(0, -3)} ${compact.slice(-3)}`;
}

/** An answer as the device would read it: its display text, or a refusal naming the question. */
function parseAnswer(item: ItemDto, value: string): string {
  const refuse = (reason: string) => new BackendError("invalid_answer", `${item.label}: ${reason}`, item.id);
  switch (item.kind) {
    case "yes_no": {
      const v = value.toLowerCase();
      if (!["yes", "no", "y", "n", "true", "false"].includes(v)) throw refuse("answer yes or no");
      return v.startsWith("y") || v === "true" ? "Yes" : "No";
    }
    case "choice":
    case "score": {
      const o = item.options.find((x) => x.value === value || x.label.toLowerCase() === value.toLowerCase());
      if (!o) throw refuse(`choose one of: ${item.options.map((x) => x.label).join(", ")}`);
      return item.kind === "score" ? o.value : o.label;
    }
    case "number": {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) throw refuse("enter a number");
      if (item.integer && !Number.isInteger(n)) throw refuse("enter a whole number");
      if (item.min !== null && n < item.min) throw refuse(`must be ${item.min} or more`);
      if (item.max !== null && n > item.max) throw refuse(`must be ${item.max} or less`);
      return item.unit ? `${n} ${item.unit}` : String(n);
    }
    case "date":
      if (!validDate(value)) throw refuse("enter a real date, for example 2026-03-31");
      return value;
    default:
      if (item.max_len !== null && value.length > item.max_len) throw refuse(`${item.max_len} characters or fewer`);
      return value;
  }
}

export class MockBackend implements Backend {
  private unlocked: boolean;
  private readonly cases: Stored[] = [];
  private readonly counters = new Map<string, number>();
  private outboxChanges = 0;
  private readonly outboxCases = new Set<string>();
  private clock: number;
  private nextId = 1;
  private readonly latencyMs: number;
  /** Who set the device up; null until it is. */
  private setUp: { person_name: string; role: string; device_number: number } | null;
  private passphrase = MOCK_PASSPHRASE;
  /** Drafts by key, as the device keeps them (never synced, so not in the outbox). */
  readonly draftStore = new Map<string, DraftDto>();
  /** The server; tests change it (see `MockServer`). */
  readonly server: MockServer;
  private link: { url: string; user: string; last_sync_at: string | null; last_error: string | null } | null = null;
  /** Cases the server refused, by case id. */
  private readonly refusedCases = new Map<string, { code: string; message: string }>();
  /** Cases the mock server reassigned away from this device (see `reassignAway`). */
  private readonly departures: DepartureDto[] = [];
  private activity: SyncActivityDto = idleActivity();
  private readonly listeners = new Set<(a: SyncActivityDto) => void>();
  private readonly backgroundSync: boolean;
  private syncing: Promise<unknown> = Promise.resolve();
  /** Fields holding values two people gave at the same time, by case id. */
  private readonly conflictStore = new Map<string, ConflictDto[]>();
  /** The address list; null: none loaded. Tests may replace it. */
  gazetteer: PlaceDto[] | null;
  /** What the map can show; tests change it. */
  readonly map: MockMap;
  /** Photos this device took that the server does not have yet, by SHA-256, with their size. */
  private readonly unsentPhotos = new Map<string, number>();

  constructor(options: MockOptions = {}) {
    this.unlocked = options.unlocked ?? false;
    this.setUp =
      options.initialised === false
        ? null
        : { person_name: ME.name ?? "", role: "officer", device_number: DEVICE_NUMBER };
    this.latencyMs = options.latencyMs ?? 0;
    this.backgroundSync = options.backgroundSync ?? true;
    this.server = {
      users: ["olive", "lena"],
      reachable: true,
      revoked: null,
      tokenExpired: false,
      takenNumbers: [],
      incoming: [],
      refuse: new Map(),
      photos: new Set(),
      photosUnavailable: false,
      ...options.server,
    };
    this.gazetteer = options.gazetteer === undefined ? structuredClone([...MILLBROOK_PLACES]) : options.gazetteer;
    this.map = { basemap: null, online_tiles: false, wards: MILLBROOK_WARDS, ...options.map };
    if (options.signedIn) {
      this.link = { url: "https://fieldbook.anytown.gov.uk", user: "olive", last_sync_at: null, last_error: null };
    }
    this.clock = Date.UTC(2026, 1, 1, 9, 0, 0);
    const count = options.cases ?? 213;
    for (let i = 0; i < count; i++) {
      const seed = SEEDS[i] ?? this.generated(i);
      const at = seed.at ?? null;
      const c = this.insert(
        {
          kind: seed.kind,
          title: seed.title,
          address: seed.address,
          postcode: seed.postcode,
          uprn: null,
          lat: at?.lat ?? null,
          lon: at?.lon ?? null,
          accuracy_m: at === null ? null : 8,
          location_source: at === null ? null : "device",
          due: seed.due,
        },
        seed.status,
      );
      // Seeded cases count as synced: the outbox starts with a few real changes only.
      this.outboxCases.delete(c.dto.id);
    }
    this.outboxChanges = Math.min(count, 3);
  }

  private generated(i: number): Seed {
    const kind = KINDS[i % KINDS.length]!.value;
    const titles = TITLES[kind]!;
    const street = STREETS[(i * 7) % STREETS.length]!;
    const day = 1 + ((i * 13) % 28);
    const month = 1 + ((i * 5) % 6);
    return {
      kind,
      title: titles[i % titles.length]!,
      address: `${1 + ((i * 17) % 120)} ${street}, Anytown`,
      postcode: i % 9 === 0 ? null : `AN${1 + (i % 9)} ${1 + (i % 8)}${"ABDEFGHJ"[i % 8]}${"LNPQRSTU"[(i * 3) % 8]}`,
      due: i % 11 === 0 ? null : `${YEAR}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`,
      status: STATUSES[(i * 3) % STATUSES.length]!.value,
      at: scattered(i),
    };
  }

  private now(): string {
    this.clock += 60_000;
    return new Date(this.clock).toISOString();
  }

  private editTimer: ReturnType<typeof setTimeout> | null = null;

  /** Sync a moment after edits pause, as the desktop shell does. */
  private afterEdit(): void {
    if (!this.backgroundSync || this.link === null) return;
    if (this.editTimer !== null) clearTimeout(this.editTimer);
    this.editTimer = setTimeout(() => {
      this.editTimer = null;
      this.inBackground();
    }, EDIT_PAUSE_MS);
  }

  private async settle(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
  }

  private guard(): void {
    if (!this.unlocked) {
      throw new BackendError("locked", "the device is locked: unlock it with your passphrase");
    }
  }

  private find(ref: string): Stored {
    const key = ref.trim().toUpperCase();
    const found = this.cases.find((c) => c.dto.reference === key || c.dto.id.toUpperCase() === key);
    if (!found) throw new BackendError("case_not_found", `there is no case ${ref.trim()} on this device`);
    return found;
  }

  private uuid(): string {
    const n = (this.nextId++).toString(16).padStart(12, "0");
    return `10000000-0000-4000-8000-${n}`;
  }

  private record(c: Stored, message: string): void {
    this.afterEdit();
    const at = this.now();
    c.updated_at = at;
    c.history.push({ at, person: ME, device_id: "mock-device", actor: "mock-actor", message });
    this.outboxChanges += 1;
    this.outboxCases.add(c.dto.id);
  }

  private validateFields(args: {
    title?: string | null;
    postcode?: string | null;
    uprn?: string | null;
    due?: string | null;
  }): void {
    if (args.title !== undefined && args.title !== null && args.title.trim() === "") {
      throw new BackendError("empty_title", "enter a title", "title");
    }
    if (args.title && args.title.trim().length > 200) {
      throw new BackendError("too_long", "title must be 200 characters or fewer", "title");
    }
    const pc = blank(args.postcode);
    if (pc !== null && !POSTCODE.test(pc)) {
      throw new BackendError("invalid_postcode", `'${pc}' is not a UK postcode, for example SW1A 2AA`, "postcode");
    }
    const uprn = blank(args.uprn);
    if (uprn !== null && !/^\d{1,12}$/.test(uprn)) {
      throw new BackendError("invalid_uprn", `'${uprn}' is not a UPRN: a UPRN is a whole number of 1 to 12 digits`, "uprn");
    }
    const due = blank(args.due);
    if (due !== null && !validDate(due)) {
      throw new BackendError("invalid_date", `'${due}' is not a date (YYYY-MM-DD)`);
    }
  }

  private insert(args: NewCaseArgs, status = "open"): Stored {
    if (!KINDS.some((k) => k.value === args.kind)) {
      throw new BackendError("unknown_case_kind", `'${args.kind}' is not a case kind`);
    }
    if (args.title.trim() === "") throw new BackendError("empty_title", "enter a title", "title");
    this.validateFields(args);
    const source = checkLocation(args.lat, args.lon, args.accuracy_m, args.location_source ?? null);
    const prefix = KINDS.find((k) => k.value === args.kind)!.prefix;
    const seq = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, seq);
    const at = this.now();
    const postcode = blank(args.postcode);
    const uprn = blank(args.uprn);
    const dto: CaseDto = {
      id: this.uuid(),
      reference: `${prefix}-${YEAR}-${DEVICE_NUMBER}-${String(seq).padStart(4, "0")}`,
      kind: args.kind,
      kind_label: labelOf(KINDS, args.kind),
      title: args.title.trim(),
      address: blank(args.address),
      postcode: postcode === null ? null : normalisePostcode(postcode),
      uprn: uprn === null ? null : Number(uprn),
      location:
        args.lat !== null && args.lon !== null
          ? place(args.lat, args.lon, args.accuracy_m, source, at)
          : null,
      status,
      status_label: labelOf(STATUSES, status).toLowerCase(),
      assignee: ME,
      due: blank(args.due),
      created_by: ME,
      created_at: at,
      visits: [],
      notes: [],
      photos: [],
      allowed_transitions: OFFICER_MOVES[status] ?? [],
      editable: EDITABLE.has(status),
    };
    const stored: Stored = { dto, updated_at: at, history: [] };
    this.cases.push(stored);
    this.record(stored, `Created case ${dto.reference}`);
    return stored;
  }

  private setStatus(c: Stored, status: string): void {
    c.dto.status = status;
    c.dto.status_label = labelOf(STATUSES, status).toLowerCase();
    c.dto.allowed_transitions = OFFICER_MOVES[status] ?? [];
    c.dto.editable = EDITABLE.has(status);
  }

  private editable(c: Stored): void {
    if (!c.dto.editable) {
      throw new BackendError("case_locked", `case ${c.dto.reference} is ${c.dto.status_label} and can no longer change`);
    }
  }

  private copy(c: Stored): CaseDto {
    return structuredClone(c.dto);
  }

  // ------------------------------------------------------------------ device

  async device(): Promise<DeviceDto> {
    await this.settle();
    if (this.setUp === null) {
      throw new BackendError("not_initialised", "there is no Fieldbook device here: set one up");
    }
    this.guard();
    return {
      device_id: "20000000-0000-4000-8000-000000000001",
      device_number: this.setUp.device_number,
      person_id: ME.id,
      person_name: this.setUp.person_name,
      role: this.setUp.role,
      data_dir: "(in memory)",
      case_count: this.cases.length,
      outbox_cases: this.outboxCases.size,
      outbox_changes: this.outboxChanges,
    };
  }

  async initDevice(args: InitArgs): Promise<DeviceDto> {
    await this.settle();
    if (this.setUp !== null) throw new BackendError("already_initialised", "a Fieldbook device already exists here");
    if ([...args.passphrase].length < 8) {
      throw new BackendError("weak_passphrase", "the passphrase must be at least 8 characters");
    }
    if (args.person_name.trim() === "" || args.person_name.length > 100) {
      throw new BackendError("invalid_name", "enter a name of 1 to 100 characters");
    }
    if (!["officer", "team_leader", "admin"].includes(args.role)) {
      throw new BackendError("unknown_role", `'${args.role}' is not a role (one of: officer, team_leader, admin)`);
    }
    if (!Number.isInteger(args.device_number) || args.device_number < 1 || args.device_number > 9999) {
      throw new BackendError("invalid_device_number", "the device number must be a whole number from 1 to 9999, unique to this device");
    }
    this.setUp = { person_name: args.person_name.trim(), role: args.role, device_number: args.device_number };
    this.passphrase = args.passphrase;
    this.unlocked = true;
    return this.device();
  }

  async unlock(passphrase: string): Promise<DeviceDto> {
    await this.settle();
    if (this.setUp === null) {
      throw new BackendError("not_initialised", "there is no Fieldbook device here: set one up");
    }
    if (passphrase !== this.passphrase) {
      this.unlocked = false;
      throw new BackendError("wrong_passphrase", "the passphrase is wrong");
    }
    this.unlocked = true;
    this.inBackground();
    return this.device();
  }

  async lock(): Promise<void> {
    await this.settle();
    this.unlocked = false;
  }

  // ------------------------------------------------------------------ cases

  async listCases(args: ListArgs): Promise<CasePageDto> {
    await this.settle();
    for (const s of args.statuses) {
      if (!STATUSES.some((x) => x.value === s)) throw new BackendError("unknown_status", `'${s}' is not a case status`);
    }
    for (const k of args.kinds) {
      if (!KINDS.some((x) => x.value === k)) throw new BackendError("unknown_case_kind", `'${k}' is not a case kind`);
    }
    const limit = args.limit ?? 50;
    if (limit < 1 || limit > MAX_PAGE) {
      throw new BackendError("invalid_input", `a page holds 1 to ${MAX_PAGE} cases`, "limit");
    }
    const search = blank(args.search);
    if (search !== null && search.length > 200) {
      throw new BackendError("invalid_input", "search text must be 200 characters or fewer", "search");
    }
    const dueBefore = blank(args.due_before);
    const dueAfter = blank(args.due_after);
    for (const [field, d] of [["due_before", dueBefore], ["due_after", dueAfter]] as const) {
      if (d !== null && !validDate(d)) throw new BackendError("invalid_date", `'${d}' is not a date (YYYY-MM-DD)`, field);
    }
    const sort = blank(args.sort) ?? (search ? "relevance" : "due");
    if (!["due", "updated", "created", "reference", "title", "relevance", "distance"].includes(sort)) {
      throw new BackendError(
        "invalid_input",
        `'${sort}' is not a sort order (due, updated, created, reference, title, relevance, distance)`,
        "sort",
      );
    }
    const nearLat = args.near_lat ?? null;
    const nearLon = args.near_lon ?? null;
    if ((nearLat === null) !== (nearLon === null)) {
      throw new BackendError("invalid_input", "give both latitude and longitude of the point to measure from, or neither", "near");
    }
    if (nearLat !== null && nearLon !== null && !isPoint(nearLat, nearLon)) {
      throw new BackendError("invalid_location", `the location is not possible: latitude ${nearLat}, longitude ${nearLon}`, "location");
    }
    const near = nearLat !== null && nearLon !== null ? { lat: nearLat, lon: nearLon } : null;
    if (sort === "distance" && near === null) {
      throw new BackendError("invalid_input", "sorting by distance needs a point to measure from: your position, or a place", "near");
    }
    this.guard();

    const terms = (search ?? "").toLowerCase().split(/\s+/).filter(Boolean);
    const assignee = blank(args.assignee);
    const rows = this.cases.filter(({ dto }) => {
      if (args.statuses.length > 0 && !args.statuses.includes(dto.status)) return false;
      if (args.kinds.length > 0 && !args.kinds.includes(dto.kind)) return false;
      if (assignee !== null && dto.assignee?.id !== (assignee === "me" ? ME.id : assignee)) return false;
      if (dueBefore !== null && (dto.due === null || dto.due > dueBefore)) return false;
      if (dueAfter !== null && (dto.due === null || dto.due < dueAfter)) return false;
      if (terms.length > 0) {
        const hay = [dto.title, dto.reference, dto.postcode ?? "", (dto.postcode ?? "").replace(/\s/g, "")]
          .join(" ")
          .toLowerCase();
        if (!terms.every((t) => hay.includes(t))) return false;
      }
      return true;
    });

    const key = (c: Stored): string => {
      switch (sort) {
        case "updated":
          return c.updated_at;
        case "created":
          return c.dto.created_at;
        case "reference":
          return c.dto.reference;
        case "title":
          return c.dto.title.toLowerCase();
        case "relevance":
          return c.dto.title.toLowerCase().includes(terms[0] ?? "") ? "0" : "1";
        default:
          return c.dto.due ?? "9999-99-99"; // no due date last
      }
    };
    const distance = (c: Stored): number | null =>
      near === null || c.dto.location === null ? null : Math.round(distanceM(near, c.dto.location));
    if (sort === "distance") {
      // Nearest first; cases with no location last, whichever way.
      const far = rows.map((c) => [c, distance(c)] as const);
      far.sort(([a, da], [b, db]) => {
        if (da === null || db === null) return da === db ? a.dto.reference.localeCompare(b.dto.reference) : da === null ? 1 : -1;
        const k = da - db || a.dto.reference.localeCompare(b.dto.reference);
        return args.descending ? -k : k;
      });
      rows.splice(0, rows.length, ...far.map(([c]) => c));
    } else {
      rows.sort((a, b) => {
        const k = key(a).localeCompare(key(b)) || a.dto.reference.localeCompare(b.dto.reference);
        return args.descending ? -k : k;
      });
    }

    const offset = args.offset ?? 0;
    return {
      cases: rows.slice(offset, offset + limit).map((c) => this.summary(c, distance(c))),
      total: rows.length,
      offset,
      limit,
    };
  }

  private summary(c: Stored, distance_m: number | null = null): CaseSummaryDto {
    const d = c.dto;
    return {
      id: d.id,
      reference: d.reference,
      kind: d.kind,
      kind_label: d.kind_label,
      title: d.title,
      address: d.address,
      postcode: d.postcode,
      uprn: d.uprn,
      lat: d.location?.lat ?? null,
      lon: d.location?.lon ?? null,
      status: d.status,
      status_label: d.status_label,
      assignee: d.assignee?.id ?? null,
      due: d.due,
      created_at: d.created_at,
      updated_at: c.updated_at,
      visit_count: d.visits.length,
      note_count: d.notes.length,
      photo_count: d.photos.length,
      distance_m,
    };
  }

  async openCase(reference: string): Promise<CaseDto> {
    await this.settle();
    this.guard();
    return this.copy(this.find(reference));
  }

  async createCase(args: NewCaseArgs): Promise<CaseDto> {
    await this.settle();
    this.guard();
    return this.copy(this.insert(args));
  }

  async editCase(args: EditCaseArgs): Promise<CaseDto> {
    await this.settle();
    this.guard();
    const c = this.find(args.case);
    this.editable(c);
    this.validateFields(args);
    const source = checkLocation(args.lat, args.lon, args.accuracy_m, args.location_source);
    const d = c.dto;
    if (args.title !== null) d.title = args.title.trim();
    if (args.address !== null) d.address = blank(args.address);
    if (args.postcode !== null) {
      const pc = blank(args.postcode);
      d.postcode = pc === null ? null : normalisePostcode(pc);
    }
    if (args.uprn !== null) {
      const u = blank(args.uprn);
      d.uprn = u === null ? null : Number(u);
    }
    if (args.due !== null) d.due = blank(args.due);
    if (args.clear_location) d.location = null;
    else if (args.lat !== null && args.lon !== null) {
      d.location = place(args.lat, args.lon, args.accuracy_m, source, this.now());
    }
    this.record(c, "Edited case");
    return this.copy(c);
  }

  async addVisit(args: AddVisitArgs): Promise<CaseDto> {
    await this.settle();
    this.guard();
    const c = this.find(args.case);
    this.editable(c);
    const template =
      args.template === null
        ? (TEMPLATES.find((t) => t.case_kinds.includes(c.dto.kind)) ?? TEMPLATES.find((t) => t.id === "general-visit"))
        : TEMPLATES.find((t) => t.id === args.template);
    if (!template) throw new BackendError("unknown_template", `there is no template ${args.template ?? ""}`);
    if (!appliesTo(template, c.dto.kind)) {
      throw new BackendError("template_not_for_kind", `${template.title} is not for ${c.dto.kind_label} cases`);
    }
    const at = this.now();
    const visit: VisitDto = {
      id: this.uuid(),
      template_id: template.id,
      template_version: template.version,
      template_title: template.title,
      started_at: at,
      officer: ME,
      location:
        args.lat !== null && args.lon !== null
          ? place(args.lat, args.lon, args.accuracy_m, "device", at)
          : null,
      answers: [],
      missing_required: template.sections.flatMap((s) => s.items.filter((i) => i.required).map((i) => i.label)),
      score: null,
      far_from_property_m: null,
    };
    c.dto.visits.push(visit);
    if (c.dto.status === "open") this.setStatus(c, "in_progress");
    this.record(c, `Started a visit: ${template.title}`);
    return this.copy(c);
  }

  async answer(args: AnswerArgs): Promise<CaseDto> {
    await this.settle();
    this.guard();
    const c = this.find(args.case);
    this.editable(c);
    const visit = c.dto.visits.find((v) => v.id === args.visit);
    if (!visit) throw new BackendError("unknown_visit", `there is no visit ${args.visit} on this case`);
    const template = TEMPLATES.find((t) => t.id === visit.template_id)!;
    const items = template.sections.flatMap((s) => s.items);
    const item = items.find((i) => i.id === args.item);
    if (!item) throw new BackendError("unknown_item", `there is no question ${args.item} in ${template.title}`);
    const value = args.value.trim();
    if (value !== "") parseAnswer(item, value); // refuse before changing anything
    visit.answers = visit.answers.filter((a) => a.item_id !== item.id);
    if (value !== "") {
      const display = parseAnswer(item, value);
      visit.answers.push({ item_id: item.id, label: item.label, kind: item.kind, display, input: value, by: ME, at: this.now() });
    }
    visit.missing_required = items
      .filter((i) => i.required && !visit.answers.some((a) => a.item_id === i.id))
      .map((i) => i.label);
    this.record(c, `Answered "${item.label}"`);
    return this.copy(c);
  }

  async addNote(args: NoteArgs): Promise<CaseDto> {
    await this.settle();
    this.guard();
    const c = this.find(args.case);
    if (args.text.trim() === "") throw new BackendError("empty_note", "enter the text of the note", "note");
    if (c.dto.status === "closed") this.editable(c);
    c.dto.notes.push({ id: this.uuid(), author: ME, at: this.now(), text: args.text.trim() });
    this.record(c, "Added a note");
    return this.copy(c);
  }

  async submit(caseRef: string): Promise<CaseDto> {
    await this.settle();
    this.guard();
    const c = this.find(caseRef);
    if (c.dto.visits.length === 0 && c.dto.editable) {
      throw new BackendError("no_visits", "record a visit before submitting the case");
    }
    if (c.dto.status !== "in_progress") {
      throw new BackendError("transition_not_allowed", `a ${c.dto.status_label} case cannot become submitted`);
    }
    const incomplete = c.dto.visits.find((v) => v.missing_required.length > 0);
    if (incomplete) {
      throw new BackendError("visit_incomplete", `answer these questions first: ${incomplete.missing_required.join(", ")}`);
    }
    this.setStatus(c, "submitted");
    this.record(c, "Submitted for review");
    return this.copy(c);
  }

  async transition(args: TransitionArgs): Promise<CaseDto> {
    await this.settle();
    this.guard();
    if (!STATUSES.some((s) => s.value === args.to)) {
      throw new BackendError("unknown_status", `'${args.to}' is not a case status`);
    }
    const c = this.find(args.case);
    if (!(OFFICER_MOVES[c.dto.status] ?? []).includes(args.to)) {
      throw new BackendError(
        "transition_not_allowed",
        `a ${c.dto.status_label} case cannot become ${labelOf(STATUSES, args.to).toLowerCase()}`,
      );
    }
    const comment = blank(args.comment);
    if (comment !== null) c.dto.notes.push({ id: this.uuid(), author: ME, at: this.now(), text: comment });
    this.setStatus(c, args.to);
    this.record(c, `Moved to ${c.dto.status_label}`);
    return this.copy(c);
  }

  async history(caseRef: string): Promise<HistoryEntryDto[]> {
    await this.settle();
    this.guard();
    return structuredClone(this.find(caseRef).history);
  }

  async templates(): Promise<TemplateDto[]> {
    await this.settle();
    return structuredClone(TEMPLATES);
  }

  async saveDraft(key: string, value: string): Promise<void> {
    await this.settle();
    this.guard();
    if (key === "" || key.length > 200 || /[\u0000-\u001f\u007f]/.test(key)) {
      throw new BackendError("invalid_input", "a draft key is at most 200 bytes of printable text", "key");
    }
    this.draftStore.set(key, { key, value, updated_at: this.now() });
  }

  async drafts(prefix: string): Promise<DraftDto[]> {
    await this.settle();
    this.guard();
    return [...this.draftStore.values()]
      .filter((d) => d.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((d) => ({ ...d }));
  }

  async clearDrafts(prefix: string): Promise<number> {
    await this.settle();
    this.guard();
    if (prefix === "") throw new BackendError("invalid_input", "say which drafts to clear", "key");
    let n = 0;
    for (const k of [...this.draftStore.keys()]) {
      if (k.startsWith(prefix)) {
        this.draftStore.delete(k);
        n++;
      }
    }
    return n;
  }

  // ------------------------------------------------------------------ sync

  private show(activity: SyncActivityDto): void {
    this.activity = activity;
    for (const l of [...this.listeners]) l(structuredClone(activity));
  }

  /** A sync in the background, as the desktop shell starts one: only when unlocked and signed in. */
  private inBackground(): void {
    if (!this.backgroundSync || !this.unlocked || this.link === null) return;
    this.syncing = this.syncing.then(() => this.runSync().catch(() => undefined));
  }

  async signIn(args: SignInArgs): Promise<SignedInDto> {
    await this.settle();
    this.guard();
    const url = checkedUrl(args.server);
    if (!this.server.reachable) {
      throw new BackendError("server_unreachable", "the server cannot be reached: connection refused");
    }
    if (!this.server.users.includes(args.user.trim()) || args.password !== MOCK_SERVER_PASSWORD) {
      throw new BackendError("bad_credentials", "the user name or password is wrong");
    }
    const number = this.setUp!.device_number;
    if (this.server.takenNumbers.includes(number)) {
      throw new BackendError("device_number_taken", `device number ${number} is already registered to another device`);
    }
    this.link = { url, user: args.user.trim(), last_sync_at: null, last_error: null };
    this.server.tokenExpired = false;
    this.inBackground();
    return { server: url, user: args.user.trim(), person_name: this.setUp!.person_name, role: this.setUp!.role, team: "North" };
  }

  async syncNow(): Promise<SyncReportDto> {
    await this.settle();
    const run = this.syncing.then(() => this.runSync());
    this.syncing = run.catch(() => undefined);
    return run;
  }

  private async runSync(): Promise<SyncReportDto> {
    this.guard();
    const link = this.link;
    if (link === null) throw new BackendError("not_signed_in", "this device is not signed in to a server: sign in first");
    this.show({ state: "syncing", pulled: 0, total: 0, error: null, revoked_reason: null, photos: null });
    await this.settle();
    const fail = (e: BackendError, state = "idle"): BackendError => {
      link.last_error = e.message;
      this.show({ state, pulled: 0, total: 0, error: { code: e.code, message: e.message }, revoked_reason: null, photos: null });
      return e;
    };
    if (!this.server.reachable) {
      throw fail(new BackendError("server_unreachable", "the server cannot be reached: connection refused"), "offline");
    }
    if (this.server.revoked !== null) {
      const reason = this.server.revoked;
      // Wiped, as the device API does: no cases, no key, locked, not set up.
      this.cases.length = 0;
      this.outboxCases.clear();
      this.outboxChanges = 0;
      this.draftStore.clear();
      this.refusedCases.clear();
      this.unsentPhotos.clear();
      this.link = null;
      this.setUp = null;
      this.unlocked = false;
      const message = `this device was removed from Fieldbook by the council (${reason}); its data is being wiped`;
      this.show({ state: "revoked", pulled: 0, total: 0, error: { code: "device_revoked", message }, revoked_reason: reason, photos: null });
      throw new BackendError("device_revoked", message);
    }
    if (this.server.tokenExpired) {
      throw fail(new BackendError("token_expired", "this device's sign-in has expired: sign in again"));
    }
    const report: SyncReportDto = { rounds: 0, pushed: 0, pulled: 0, refused: [], departed: [] };
    for (const id of [...this.outboxCases]) {
      const c = this.cases.find((x) => x.dto.id === id);
      const refusal = c ? this.server.refuse.get(c.dto.reference) : undefined;
      if (c && refusal) {
        this.refusedCases.set(id, refusal);
        report.refused.push({ case: id, ...refusal });
      } else {
        this.refusedCases.delete(id);
        this.outboxCases.delete(id);
        report.pushed += 1;
      }
    }
    this.outboxChanges = this.outboxCases.size;
    const incoming = this.server.incoming.splice(0);
    const total = incoming.length;
    do {
      report.rounds += 1;
      for (const args of incoming.splice(0, 100)) {
        const c = this.insert(args);
        c.history[c.history.length - 1]!.person = { id: "00000000-0000-4000-8000-000000000002", name: "Lena Leader" };
        this.outboxCases.delete(c.dto.id);
        this.outboxChanges = this.outboxCases.size;
        report.pulled += 1;
      }
      this.show({ state: "syncing", pulled: report.pulled, total, error: null, revoked_reason: null, photos: null });
      await this.settle();
    } while (incoming.length > 0);
    await this.sendPhotos(fail);
    this.fetchThumbnails();
    link.last_sync_at = this.now();
    link.last_error = null;
    this.show(idleActivity());
    return report;
  }

  async syncStatus(): Promise<SyncStatusDto> {
    await this.settle();
    this.guard();
    return {
      server: this.link?.url ?? null,
      user: this.link?.user ?? null,
      last_sync_at: this.link?.last_sync_at ?? null,
      last_error: this.link?.last_error ?? null,
      outbox_cases: this.outboxCases.size,
      outbox_changes: this.outboxChanges,
      refused: [...this.refusedCases].map(([id, r]) => {
        const c = this.cases.find((x) => x.dto.id === id);
        return { case: id, reference: c?.dto.reference ?? id, title: c?.dto.title ?? "", code: r.code, message: r.message };
      }),
      departed: structuredClone(this.departures),
    };
  }

  /** As the real device does when the server says a case was reassigned to someone else:
   * the case leaves this device (now, as nothing of it waits to be pushed) with a notice. */
  reassignAway(caseId: string): void {
    const i = this.cases.findIndex((x) => x.dto.id === caseId || x.dto.reference === caseId);
    const [gone] = i < 0 ? [] : this.cases.splice(i, 1);
    if (!gone) throw new Error(`no case ${caseId}`);
    this.departures.unshift({
      case_id: gone.dto.id,
      reference: gone.dto.reference,
      title: gone.dto.title,
      noticed_at: new Date().toISOString(),
      removed: true,
    });
  }

  async syncActivity(): Promise<SyncActivityDto> {
    await this.settle();
    return structuredClone(this.activity);
  }

  onSyncActivity(listener: (activity: SyncActivityDto) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Wait for any sync the mock started by itself (tests). */
  async idle(): Promise<void> {
    await this.syncing;
  }

  // ------------------------------------------------------------------ conflicts

  /** Tests: a field of a case now holds values two people gave at the same time (after a sync). */
  addConflict(reference: string, conflict: ConflictDto): void {
    const c = this.find(reference);
    this.conflictStore.set(c.dto.id, [...(this.conflictStore.get(c.dto.id) ?? []), structuredClone(conflict)]);
  }

  async conflicts(caseRef: string): Promise<ConflictDto[]> {
    await this.settle();
    this.guard();
    return structuredClone(this.conflictStore.get(this.find(caseRef).dto.id) ?? []);
  }

  async resolveConflict(args: ResolveConflictArgs): Promise<CaseDto> {
    await this.settle();
    this.guard();
    const FIELDS = ["title", "address", "postcode", "uprn", "location", "due", "status", "assignee"];
    if (args.field === "answer" && (args.visit === null || args.item === null)) {
      throw new BackendError("invalid_input", "an answer conflict needs the visit and the question", "field");
    }
    if (args.field !== "answer" && !FIELDS.includes(args.field)) {
      throw new BackendError("invalid_input", `"${args.field}" is not a field of a case`, "field");
    }
    if (args.field === "status" || args.field === "assignee") {
      throw new BackendError("invalid_input", `the ${args.field} is settled by the case's review, not by choosing a value`, "field");
    }
    const c = this.find(args.case);
    const list = this.conflictStore.get(c.dto.id) ?? [];
    const conflict = list.find((x) => x.field === args.field && x.visit === args.visit && x.item === args.item);
    const value = conflict?.values.find((v) => v.actor === args.actor);
    if (conflict === undefined || value === undefined) {
      throw new BackendError("conflict_gone", "that value is no longer in conflict: look at the case again");
    }
    this.editable(c);
    if (args.field === "title") c.dto.title = value.shown;
    if (args.field === "address") c.dto.address = value.shown === "" ? null : value.shown;
    if (args.field === "postcode") c.dto.postcode = value.shown === "" ? null : value.shown;
    if (args.field === "due") c.dto.due = value.shown === "" ? null : value.shown;
    this.conflictStore.set(c.dto.id, list.filter((x) => x !== conflict));
    this.record(c, `Chose ${value.shown} for "${conflict.label}" (settling a conflict)`);
    return this.copy(c);
  }
  // ------------------------------------------------------------------ photos

  private photoOf(c: Stored, sha: string): PhotoDto {
    const key = sha.trim().toLowerCase();
    const p = c.dto.photos.find((x) => x.sha256 === key);
    if (!p) throw new BackendError("unknown_photo", `this case has no photo ${key.slice(0, 80)}`);
    return p;
  }

  private checkCaption(caption: string | null): string | null {
    if (caption === null) return null;
    const t = caption.trim();
    if ([...t].length > 500) {
      throw new BackendError("too_long", `caption must be 500 characters or fewer (it has ${[...t].length})`, "caption");
    }
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(t)) {
      throw new BackendError("control_characters", "caption contains control characters; use plain text", "caption");
    }
    return t;
  }

  private checkVisit(c: Stored, visit: string | null): string | null {
    const v = visit === null ? null : visit.trim();
    if (v === null || v === "") return v;
    if (!c.dto.visits.some((x) => x.id === v)) throw new BackendError("unknown_visit", `there is no visit ${v} on this case`);
    return v;
  }

  async photos(caseRef: string): Promise<PhotoDto[]> {
    await this.settle();
    this.guard();
    return structuredClone(this.find(caseRef).dto.photos);
  }

  async addPhoto(args: AddPhotoArgs, bytes: Uint8Array): Promise<PhotoAddedDto> {
    await this.settle();
    this.guard();
    const c = this.find(args.case);
    const visit = this.checkVisit(c, args.visit);
    // Empty and oversized files are refused before anything else (never hashed).
    if (bytes.length === 0 || bytes.length > MAX_PHOTO_BYTES) checkPhoto(bytes, args.file_name);
    // The same file again: recognised by its hash before anything is decoded.
    const sha = await sha256Hex(bytes);
    const known = c.dto.photos.find((p) => p.sha256 === sha);
    if (known) return { photo: structuredClone(known), added: false };
    const checked = checkPhoto(bytes, args.file_name);
    this.editable(c);
    const caption = this.checkCaption(args.caption) ?? "";
    const photo: PhotoDto = {
      sha256: sha,
      bytes: bytes.length,
      mime: checked.mime,
      width: checked.width,
      height: checked.height,
      caption,
      visit_id: visit === "" ? null : visit,
      taken_at: null,
      location: null,
      held: ["full", "thumb"],
    };
    c.dto.photos.push(photo);
    this.unsentPhotos.set(sha, bytes.length);
    this.record(c, "Added a photo");
    return { photo: structuredClone(photo), added: true };
  }

  async editPhoto(args: EditPhotoArgs): Promise<PhotoDto> {
    await this.settle();
    this.guard();
    const c = this.find(args.case);
    this.editable(c);
    const visit = this.checkVisit(c, args.visit);
    const caption = this.checkCaption(args.caption);
    const p = this.photoOf(c, args.photo);
    if (caption !== null) p.caption = caption;
    if (visit !== null) p.visit_id = visit === "" ? null : visit;
    this.record(c, "Changed a photo's details");
    return structuredClone(p);
  }

  async fetchPhoto(caseRef: string, sha256: string): Promise<boolean> {
    await this.settle();
    this.guard();
    const p = this.photoOf(this.find(caseRef), sha256);
    if (p.held.includes("full")) return true;
    if (this.link === null) throw new BackendError("not_signed_in", "this device is not signed in to a server: sign in first");
    if (!this.server.reachable) throw new BackendError("server_unreachable", "the server cannot be reached: connection refused");
    if (this.server.photosUnavailable) {
      throw new BackendError("photos_unavailable", "the server has no photo store (503)");
    }
    if (!this.server.photos.has(p.sha256)) return false;
    for (const v of ["full", "thumb"]) if (!p.held.includes(v)) p.held.push(v);
    return true;
  }

  /** A small SVG with the photo's caption: enough for `<img>` in dev mode and for tests to check. */
  photoUrl(caseId: string, sha256: string, variant: PhotoVariant): string {
    const c = this.cases.find((x) => x.dto.id === caseId);
    const p = c?.dto.photos.find((x) => x.sha256 === sha256);
    const text = (p?.caption || `Photo ${sha256.slice(0, 8)}`).replace(/[<>&"]/g, " ");
    const [w, h] = variant === "thumb" ? [320, 240] : [1600, 1200];
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 320 240">` +
      `<desc>${variant} ${sha256}</desc><rect width="320" height="240" fill="#b1b4b6"/>` +
      `<text x="160" y="125" font-family="arial" font-size="18" text-anchor="middle">${text}</text></svg>`;
    return `data:image/svg+xml,${encodeURIComponent(svg)}`;
  }

  /** Tests and dev mode: a photo another device attached to a case arrives with the case. */
  receivePhoto(reference: string, photo: ReceivedPhoto = {}): PhotoDto {
    const c = this.find(reference);
    // Its bytes never reach the mock, so there is nothing to hash: a made-up name in the shape
    // of a SHA-256 (64 hex digits), unique on this mock device.
    const sha = (this.nextId++).toString(16).padStart(8, "0").padEnd(64, "0");
    const at = photo.taken_at ?? null;
    const dto: PhotoDto = {
      sha256: sha,
      bytes: 2_400_000,
      mime: "image/jpeg",
      width: 2048,
      height: 1536,
      caption: photo.caption ?? "",
      visit_id: photo.visit ?? null,
      taken_at: at,
      location:
        photo.location == null
          ? null
          : place(photo.location.lat, photo.location.lon, photo.location.accuracy_m ?? null, "photo_exif", at ?? this.now()),
      held: [...(photo.held ?? [])],
    };
    c.dto.photos.push(dto);
    if (photo.onServer ?? true) this.server.photos.add(sha);
    return structuredClone(dto);
  }

  /** After the cases: this device's photos up, one by one, with progress in bytes. */
  private async sendPhotos(fail: (e: BackendError, state?: string) => BackendError): Promise<void> {
    const waiting = [...this.unsentPhotos];
    if (waiting.length === 0) return;
    if (this.server.photosUnavailable) {
      throw fail(new BackendError("photos_unavailable", "the server has no photo store (503 Service Unavailable)"));
    }
    let done = 0;
    for (const [sha, size] of waiting) {
      const half = Math.floor(size / 2);
      for (const sent of [0, half]) {
        this.show({ ...idleActivity(), state: "syncing", photos: { done, total: waiting.length, sent, size } });
        await this.settle();
      }
      this.server.photos.add(sha);
      this.unsentPhotos.delete(sha);
      done += 1;
    }
    this.show({ ...idleActivity(), state: "syncing", photos: { done, total: waiting.length, sent: 0, size: 0 } });
    await this.settle();
  }

  /** After its own photos, as the real device does: the thumbnails of other devices' photos the server holds. */
  private fetchThumbnails(): void {
    if (this.server.photosUnavailable) return;
    for (const c of this.cases) {
      for (const p of c.dto.photos) {
        if (!p.held.includes("thumb") && this.server.photos.has(p.sha256)) p.held.push("thumb");
      }
    }
  }

  /** Photos this device holds that have not reached the server yet (tests). */
  get photosWaiting(): number {
    return this.unsentPhotos.size;
  }

  // ------------------------------------------------------------------ places and the map

  async findPlace(query: string): Promise<PlaceDto[]> {
    await this.settle();
    this.guard();
    const q = query.trim();
    if (this.gazetteer === null || this.gazetteer.length === 0) {
      throw new BackendError("no_gazetteer", "no address list (gazetteer) is loaded on this device: ask an administrator to load one");
    }
    if (q === "") throw new BackendError("invalid_input", "enter a UPRN or a postcode", "query");
    if (/^\d+$/.test(q)) {
      if (!/^\d{1,12}$/.test(q)) {
        throw new BackendError("invalid_uprn", `'${q}' is not a UPRN: a UPRN is a whole number of 1 to 12 digits`, "uprn");
      }
      return structuredClone(this.gazetteer.filter((p) => p.uprn === Number(q)));
    }
    if (!POSTCODE.test(q)) {
      throw new BackendError("invalid_postcode", `'${q}' is not a UK postcode, for example SW1A 2AA`, "postcode");
    }
    const pc = normalisePostcode(q);
    return structuredClone(this.gazetteer.filter((p) => p.postcode === pc));
  }

  async mapInfo(): Promise<MapDto> {
    await this.settle();
    this.guard();
    return structuredClone(this.map);
  }

  /** The mock has no tile server: a relative address that finds nothing (only used when `map` says so). */
  tileUrl(): string {
    return "mock-tiles/{z}/{x}/{y}";
  }
}
