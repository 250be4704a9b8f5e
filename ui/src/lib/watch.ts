// Watching the device: a Backend that reports every successful write, so the status line can
// refresh its count of changes waiting without each screen having to remember to tell it; and
// the end of each background sync, after which a screen shows what the sync brought.
import type { Backend } from "./backend";

const WRITES = new Set<keyof Backend>([
  "createCase",
  "editCase",
  "addVisit",
  "answer",
  "addNote",
  "submit",
  "transition",
  "signIn",
  "syncNow",
  "resolveConflict",
  "addPhoto",
  "editPhoto",
]);

export function watchWrites(backend: Backend, onWrite: () => void): Backend {
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      const f = v as (...args: unknown[]) => Promise<unknown>;
      if (!WRITES.has(prop as keyof Backend)) return f.bind(target);
      return async (...args: unknown[]) => {
        const out = await f.apply(target, args);
        onWrite();
        return out;
      };
    },
  });
}

/**
 * Call `ended` each time a background sync ends, however it ended (a sync that failed may still
 * have brought some changes), but not when the device was revoked: it is wiped, and the app
 * shows why instead of any screen. A screen opened while a sync runs counts that sync too (the
 * state is read once at the start). Gives the way to stop listening.
 */
export function onSyncEnded(backend: Pick<Backend, "syncActivity" | "onSyncActivity">, ended: () => void): () => void {
  let last = "";
  void backend.syncActivity().then(
    (a) => {
      if (last === "") last = a.state;
    },
    () => {
      // Heard of no sync yet: the next one that starts is counted all the same.
    },
  );
  return backend.onSyncActivity((a) => {
    if (last === "syncing" && a.state !== "syncing" && a.state !== "revoked") ended();
    last = a.state;
  });
}
