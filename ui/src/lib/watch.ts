// A Backend that reports every successful write, so the status line can refresh its count of
// changes waiting without each screen having to remember to tell it.
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
