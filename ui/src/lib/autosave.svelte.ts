// Save-as-you-type for forms. Two layers, so nothing typed is ever lost and the case's history
// is not one entry per keystroke:
//
// 1. Every keystroke goes to the device's draft table at once (`Backend.saveDraft`: one small
//    durable write). Closing the window or killing the app mid-form loses at most the keystroke
//    in flight; the form reads its drafts back when it opens again.
// 2. A field's value is saved into the case itself when the person leaves the field, picks an
//    option, or pauses typing; once that succeeds the field's draft is forgotten. A value the
//    device refuses (a half-typed postcode, a number out of range) stays a draft, with the
//    device's message beside the field, until it is put right.
import { BackendError, type Backend } from "./backend";

/** A field's key in the draft table: the form's prefix, the field, and a terminator so that no
 * field's key is a prefix of another's ("due" and "due-day"). */
function draftKey(prefix: string, field: string): string {
  return `${prefix}${field};`;
}

/** Keeps one form's drafts on the device: per field at most one save in flight, and a newer
 * value waiting replaces an older one, so a fast typist never builds a backlog and the device
 * always ends with the last value typed. */
export class DraftKeeper {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, string>();

  constructor(
    private readonly backend: Backend,
    /** Ends with a separator, e.g. "case:<id>:" or "visit:<id>:". */
    readonly prefix: string,
    private readonly onError: (e: BackendError) => void = () => {},
  ) {}

  /** The drafts this form left behind, by field. */
  async load(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const d of await this.backend.drafts(this.prefix)) {
      const rest = d.key.slice(this.prefix.length);
      if (rest.endsWith(";")) out[rest.slice(0, -1)] = d.value;
    }
    return out;
  }

  /** Keep `value` as the field's draft (now, or as soon as the save before it lands). */
  keep(field: string, value: string): void {
    this.waiting.set(field, value);
    if (!this.inFlight.has(field)) this.pump(field);
  }

  private pump(field: string): void {
    const value = this.waiting.get(field);
    if (value === undefined) {
      this.inFlight.delete(field);
      return;
    }
    this.waiting.delete(field);
    const p = this.backend
      .saveDraft(draftKey(this.prefix, field), value)
      .catch((e: unknown) => this.onError(BackendError.from(e)))
      .then(() => this.pump(field));
    this.inFlight.set(field, p);
  }

  /** Resolves when every value kept so far is on the device. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()]);
  }

  /** Forget one field's draft (its value is now in the case). */
  async forget(field: string): Promise<void> {
    this.waiting.delete(field);
    await this.inFlight.get(field);
    await this.backend.clearDrafts(draftKey(this.prefix, field));
  }

  /** Forget every draft of the form (the form was submitted, or abandoned on purpose). */
  async forgetAll(): Promise<void> {
    this.waiting.clear();
    await this.flush();
    await this.backend.clearDrafts(this.prefix);
  }
}

export type SaveState = "idle" | "saving" | "saved" | "failed";

/**
 * A form whose fields save themselves into the case. `save(field, value)` writes one field (an
 * `editCase` or `answer` call) and throws a `BackendError` when the device refuses the value.
 * Call `input` on every keystroke and `commit` when the person leaves the field or picks an
 * option; `settle` before leaving the form.
 */
export class AutoSaveForm {
  /** The device's message for each field whose value was refused. */
  errors = $state<Record<string, string>>({});
  state = $state<SaveState>("idle");
  /** Values typed and not yet saved into the case, by field. */
  pending = $state<Record<string, string>>({});

  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private chain: Promise<void> = Promise.resolve();
  readonly drafts: DraftKeeper;

  constructor(
    backend: Backend,
    prefix: string,
    private readonly save: (field: string, value: string) => Promise<void>,
    /** How long a pause in typing saves the field into the case. */
    private readonly idleMs = 1500,
  ) {
    this.drafts = new DraftKeeper(backend, prefix, (e) => {
      this.state = "failed";
      this.errors = { ...this.errors, _drafts: `What you typed could not be kept: ${e.message}` };
    });
  }

  /** Read back what an earlier session left unsaved: those values win over the case's. */
  async restore(): Promise<Record<string, string>> {
    const found = await this.drafts.load();
    this.pending = { ...found };
    return found;
  }

  /** A keystroke: keep it as a draft now, save it into the case after a pause. */
  input(field: string, value: string): void {
    this.pending = { ...this.pending, [field]: value };
    this.drafts.keep(field, value);
    const t = this.timers.get(field);
    if (t !== undefined) clearTimeout(t);
    if (this.idleMs > 0) {
      this.timers.set(
        field,
        setTimeout(() => void this.commit(field), this.idleMs),
      );
    }
  }

  /** Save the field's pending value into the case now (in order with other saves). */
  commit(field: string): Promise<void> {
    const t = this.timers.get(field);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(field);
    this.chain = this.chain.then(() => this.commitNow(field));
    return this.chain;
  }

  private async commitNow(field: string): Promise<void> {
    if (!(field in this.pending)) return;
    const value = this.pending[field]!;
    this.state = "saving";
    try {
      await this.save(field, value);
      // Only forget what was saved: the person may have typed on while the save ran.
      if (this.pending[field] === value) {
        const { [field]: _saved, ...rest } = this.pending;
        this.pending = rest;
        await this.drafts.forget(field);
      }
      const { [field]: _gone, ...others } = this.errors;
      this.errors = others;
      this.state = "saved";
    } catch (e) {
      const err = BackendError.from(e);
      this.errors = { ...this.errors, [field]: sentence(err.message) };
      this.state = "failed";
    }
  }

  /** Save every pending field into the case; resolves when all are saved or refused. */
  async settle(): Promise<void> {
    for (const field of Object.keys(this.pending)) void this.commit(field);
    await this.chain;
    await this.drafts.flush();
  }

  /** Resolves when the saves already started have landed (nothing pending is started). */
  async idle(): Promise<void> {
    await this.chain;
  }

  /**
   * These fields were just set in the case another way (the device's position, the address
   * list): forget what was typed into them and not saved, with its draft and any refusal, so it
   * is never saved over the new values.
   */
  async replaced(fields: readonly string[]): Promise<void> {
    const pending = { ...this.pending };
    const errors = { ...this.errors };
    for (const field of fields) {
      const t = this.timers.get(field);
      if (t !== undefined) clearTimeout(t);
      this.timers.delete(field);
      delete pending[field];
      delete errors[field];
    }
    this.pending = pending;
    this.errors = errors;
    await Promise.all(fields.map((f) => this.drafts.forget(f)));
  }

  /** Stop the idle timers (the form is going away; its drafts stay on the device). */
  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  hasErrors(): boolean {
    return Object.keys(this.errors).length > 0;
  }
}

/** A device message as a GOV.UK error message: a capital first letter, no full stop. */
export function sentence(message: string): string {
  const m = message.trim().replace(/\.$/, "");
  return m.charAt(0).toUpperCase() + m.slice(1);
}
