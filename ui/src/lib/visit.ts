// Recording a visit: which template and visit a route names, how far each section has got, and
// the GOV.UK messages for questions left unanswered. Pure functions, tested on their own.
import type { AnswerDto } from "../bindings/AnswerDto";
import type { ItemDto } from "../bindings/ItemDto";
import type { SectionDto } from "../bindings/SectionDto";
import { BackendError, type Backend, type CaseDto, type TemplateDto } from "./backend";
import type { VisitDto } from "../bindings/VisitDto";

/** The prefix of a visit's drafts in the device's draft table. */
export function visitDraftPrefix(visitId: string): string {
  return `visit:${visitId}:`;
}

export interface VisitContext {
  found: CaseDto;
  visit: VisitDto;
  template: TemplateDto;
}

/** The visit and its template, or a `BackendError` a screen can show. */
export function visitContext(found: CaseDto, templates: TemplateDto[], visitId: string): VisitContext {
  const visit = found.visits.find((v) => v.id === visitId);
  if (!visit) throw new BackendError("unknown_visit", `case ${found.reference} has no such visit`);
  const template =
    templates.find((t) => t.id === visit.template_id && t.version === visit.template_version) ??
    templates.find((t) => t.id === visit.template_id);
  if (!template) {
    throw new BackendError("unknown_template", `this version of Fieldbook does not have the form "${visit.template_title}"`);
  }
  return { found, visit, template };
}

/** A visit as the task list and check-answers pages show it: the case, the visit and its form,
 * and which of its questions have typing not yet saved (drafts). */
export async function loadVisit(
  backend: Backend,
  reference: string,
  visitId: string,
): Promise<{ ctx: VisitContext; drafted: Set<string> }> {
  const prefix = visitDraftPrefix(visitId);
  const [found, templates, drafts] = await Promise.all([
    backend.openCase(reference),
    backend.templates(),
    backend.drafts(prefix),
  ]);
  const ctx = visitContext(found, templates, visitId);
  return { ctx, drafted: new Set(drafts.map((d) => d.key.slice(prefix.length).replace(/;$/, ""))) };
}

export function answersById(visit: VisitDto): Map<string, AnswerDto> {
  return new Map(visit.answers.map((a) => [a.item_id, a]));
}

export type SectionStatus = "completed" | "incomplete" | "not_started";

/**
 * A section is completed when every required question has an answer and nothing typed is
 * waiting (a draft the device refused); not started when nothing is answered or typed.
 */
export function sectionStatus(section: SectionDto, answers: Map<string, AnswerDto>, drafted: Set<string>): SectionStatus {
  const touched = section.items.some((i) => answers.has(i.id) || drafted.has(i.id));
  if (!touched) return section.items.some((i) => i.required) ? "not_started" : "completed";
  const done = section.items.every((i) => (!i.required || answers.has(i.id)) && !drafted.has(i.id));
  return done ? "completed" : "incomplete";
}

export const STATUS_TEXT: Record<SectionStatus, string> = {
  completed: "Completed",
  incomplete: "Incomplete",
  not_started: "Not yet started",
};

function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

/** Whether an item is answered by choosing (radios) rather than typing. */
export function isChoice(item: ItemDto): boolean {
  return item.kind === "yes_no" || item.kind === "choice" || item.kind === "score";
}

/** The GOV.UK error message for a required question left unanswered. */
export function missingMessage(item: ItemDto): string {
  if (item.kind === "yes_no") return `Select yes or no: ${item.label}`;
  if (isChoice(item)) {
    return item.label.endsWith("?") ? `Select an answer: ${item.label}` : `Select ${lowerFirst(item.label)}`;
  }
  return `Enter ${lowerFirst(item.label)}`;
}

/** The id of the input an error about `item` links to. */
export function inputId(item: ItemDto): string {
  const base = `q-${item.id.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  if (item.kind === "date") return `${base}-day`;
  return base;
}

/** The id of a question's field (or its date input / radios). */
export function fieldId(item: ItemDto): string {
  return `q-${item.id.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

/** Options of a yes/no question. */
export const YES_NO = [
  { value: "yes", label: "Yes" },
  { value: "no", label: "No" },
] as const;
