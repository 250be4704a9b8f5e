// The desktop app's backend: one Tauri command per device API function, a thin mapping only.
// Command names are the Rust function names (snake_case); structured arguments travel as `{ args }`.
import { convertFileSrc, invoke, type InvokeArgs, type InvokeOptions } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { BackendError, type Backend, type SyncActivityDto } from "./backend";

/** The event the shell sends when the background sync's activity changes (src-tauri/src/background.rs). */
const SYNC_EVENT = "sync-activity";

/** The header that carries `add_photo`'s arguments beside its raw body (the file's bytes). */
const PHOTO_ARGS_HEADER = "Fieldbook-Args";

async function call<T>(command: string, payload?: InvokeArgs, options?: InvokeOptions): Promise<T> {
  try {
    return await invoke<T>(command, payload, options);
  } catch (e) {
    throw BackendError.from(e);
  }
}

export function tauriBackend(): Backend {
  return {
    device: () => call("device"),
    initDevice: (args) => call("init_device", { args }),
    unlock: (passphrase) => call("unlock", { passphrase }),
    lock: () => call("lock"),
    listCases: (args) => call("list_cases", { args }),
    openCase: (reference) => call("open_case", { case: reference }),
    createCase: (args) => call("create_case", { args }),
    editCase: (args) => call("edit_case", { args }),
    addVisit: (args) => call("add_visit", { args }),
    answer: (args) => call("answer", { args }),
    addNote: (args) => call("add_note", { args }),
    submit: (caseRef) => call("submit", { case: caseRef }),
    transition: (args) => call("transition", { args }),
    history: (caseRef) => call("history", { case: caseRef }),
    templates: () => call("templates"),
    saveDraft: (key, value) => call("save_draft", { args: { key, value } }),
    drafts: (prefix) => call("drafts", { prefix }),
    clearDrafts: (prefix) => call("clear_drafts", { prefix }),
    signIn: (args) => call("sign_in", { args }),
    syncNow: () => call("sync_now"),
    syncStatus: () => call("sync_status"),
    syncActivity: () => call("sync_activity"),
    conflicts: (caseRef) => call("conflicts", { case: caseRef }),
    resolveConflict: (args) => call("resolve_conflict", { args }),
    photos: (caseRef) => call("photos", { case: caseRef }),
    // The bytes travel as the raw IPC body (no JSON array of numbers); the arguments in a header.
    addPhoto: (args, bytes) =>
      call("add_photo", bytes, { headers: { [PHOTO_ARGS_HEADER]: encodeURIComponent(JSON.stringify(args)) } }),
    editPhoto: (args) => call("edit_photo", { args }),
    fetchPhoto: (caseRef, sha256) => call("fetch_photo", { case: caseRef, photo: sha256 }),
    // The shell serves photo bytes from the encrypted store through its `fbphoto` protocol.
    photoUrl: (caseId, sha256, variant) =>
      `${convertFileSrc("", "fbphoto")}${encodeURIComponent(caseId)}/${encodeURIComponent(sha256)}/${variant}`,
    findPlace: (query) => call("find_place", { query }),
    mapInfo: () => call("map_info"),
    // The shell serves tiles from the offline basemap pack (or the council's tile server, when set).
    tileUrl: () => `${convertFileSrc("", "fbtiles")}{z}/{x}/{y}`,
    onSyncActivity: (listener) => {
      let stopped = false;
      let stop: (() => void) | null = null;
      void listen<SyncActivityDto>(SYNC_EVENT, (e) => listener(e.payload)).then((unlisten) => {
        if (stopped) unlisten();
        else stop = unlisten;
      });
      return () => {
        stopped = true;
        stop?.();
      };
    },
  };
}

/** Whether this page runs inside the Tauri webview. */
export function insideTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}
