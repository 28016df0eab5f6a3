import { api, ApiError, showError } from "../api";
import { ACTION_LABELS, categoryLabel, DECISION_LABELS, purposeLabel } from "../context";
import { directory, type Directory } from "../directory";
import { badge, formatTime, h, replace } from "../dom";
import type { ViewEnv } from "../view-env";
import type { EventView } from "../trail";
import { verifyEvent, type Verification } from "../verify";

const PAGE = 20;
const POLL_MS = 3_000;
/**
 * The /audit interface is rate limited per account (RATE_LIMIT_PER_MINUTE, 100 by default): the event
 * list polls about 20 times a minute, so proofs are fetched at most 60 a minute — a page's worth at once,
 * then as the budget frees up.
 */
const PROOFS_PER_MINUTE = 60;
const proofTimes: number[] = [];
const MAX_PAGES = 50;

function proofBudget(): number {
  while (proofTimes.length && proofTimes[0] < Date.now() - 60_000) proofTimes.shift();
  return PROOFS_PER_MINUTE - proofTimes.length;
}

export interface TimelineOptions {
  /** Extra query for GET /audit/events (the service scopes it to the caller anyway). */
  query: string;
  perspective: "patient" | "institution";
  /** The signed-in account. */
  me: string;
  heading: string;
}

/**
 * A live list of access events, newest first: each entry says who did what, for which purpose, whether it
 * was permitted, flags break-glass with its justification, and shows its verification — "verified on
 * chain" once this browser has checked the event's proof against the root the chain holds.
 */
export function timeline(env: ViewEnv, options: TimelineOptions): HTMLElement {
  const { ctx, chain } = env;
  const events = new Map<number, EventView>();
  const verifications = new Map<string, Verification>();
  const items = new Map<number, HTMLLIElement>();
  let shown = PAGE;
  let cursor = 0;
  let dir: Directory | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let backoffUntil = 0;

  const list = h("ol", { class: "timeline", "aria-label": `${options.heading}, newest first` });
  const summary = h("p", { class: "muted", "aria-live": "polite" }, "Loading…");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show older accesses");
  more.addEventListener("click", () => {
    shown += PAGE;
    draw();
    void tick(false);
  });
  const id = `timeline-${options.perspective}`;
  const section = h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, options.heading), summary, list, h("div", { class: "actions" }, more));

  const sorted = () => [...events.values()].sort((a, b) => b.seq - a.seq);

  function who(e: EventView): string {
    const name = (address: string) => (address.toLowerCase() === options.me.toLowerCase() ? "You" : dir!.label(address));
    // A refused read's patient is withheld from its requester: the record id named the patient only for the service.
    if (options.perspective === "institution") return e.patient ? dir!.label(e.patient) : e.action === "record.read" ? "Patient withheld (refused read)" : "No patient";
    const actor = name(e.actor);
    return e.requester && e.requester.toLowerCase() !== e.actor.toLowerCase() ? `${actor}, on behalf of ${name(e.requester)}` : actor;
  }

  function verificationBadge(e: EventView): HTMLElement {
    const v = verifications.get(e.id);
    if (!v) return badge(e.batchId === null ? "not anchored yet" : "checking…", "neutral");
    switch (v.state) {
      case "verified-on-chain":
        return badge("verified on chain", "ok", v.note);
      case "verified-service-root":
        return badge("proof checked against the service's root", "warn", v.note);
      case "failed":
        return badge("verification failed", "bad", v.note);
      case "pending":
        return badge("not anchored yet", "neutral", v.note);
      default:
        return badge("not checked yet", "neutral", v.note);
    }
  }

  function entry(e: EventView): HTMLLIElement {
    const decision = DECISION_LABELS[e.decision] ?? { text: e.decision, tone: "neutral" as const, released: false };
    const v = verifications.get(e.id);
    const li = h("li", {
      class: e.breakGlass ? "break-glass" : decision.released ? "permitted" : decision.tone === "bad" ? "refused" : "",
      "data-seq": e.seq,
      "data-event-id": e.id,
      "data-action": e.action,
      "data-decision": e.decision,
      "data-verification": v?.state ?? (e.batchId === null ? "pending" : "unchecked"),
    });
    const what = [ACTION_LABELS[e.action] ?? e.action, e.resourceType ? ` (${e.resourceType}${e.resourceId ? `/${e.resourceId}` : ""})` : ""].join("");
    replace(
      li,
      h(
        "div",
        { class: "entry-head" },
        h("time", { datetime: e.time }, formatTime(e.time)),
        h("span", { class: "entry-who" }, who(e)),
        h("span", {}, what),
        badge(decision.text, decision.tone),
        e.breakGlass ? badge("break-glass", "warn", "Emergency access without consent") : null,
        verificationBadge(e),
      ),
      h(
        "div",
        { class: "entry-meta" },
        e.categories.length ? `Data: ${e.categories.map((c) => categoryLabel(ctx, c)).join(", ")}` : null,
        e.categories.length && e.purposes.length ? " · " : null,
        e.purposes.length ? `Purpose: ${e.purposes.map((p) => purposeLabel(ctx, p)).join(", ")}` : null,
        ` · event ${e.seq}`,
        e.batchId !== null ? ` · batch ${e.batchId}` : null,
      ),
      e.breakGlass ? h("div", { class: "justification" }, h("strong", {}, "Justification: "), e.justification ?? "(not shown)") : null,
      v && v.state !== "verified-on-chain" && v.note ? h("div", { class: "entry-meta" }, v.note) : null,
    );
    return li;
  }

  function draw(): void {
    if (!dir) return;
    const all = sorted();
    const visible = all.slice(0, shown);
    const wanted = new Set(visible.map((e) => e.seq));
    for (const [seq, li] of items) {
      if (!wanted.has(seq)) {
        li.remove();
        items.delete(seq);
      }
    }
    let previous: Element | null = null;
    for (const e of visible) {
      const fresh = entry(e);
      const old = items.get(e.seq);
      if (old) old.replaceWith(fresh);
      else if (previous) previous.after(fresh);
      else list.prepend(fresh);
      items.set(e.seq, fresh);
      previous = fresh;
    }
    more.hidden = all.length <= shown;
    const states = visible.map((e) => verifications.get(e.id)?.state);
    const onChain = states.filter((s) => s === "verified-on-chain").length;
    const serviceRoot = states.filter((s) => s === "verified-service-root").length;
    const failed = states.filter((s) => s === "failed").length;
    const waiting = visible.length - onChain - serviceRoot - failed;
    summary.textContent =
      all.length === 0
        ? "No accesses recorded yet."
        : [
            `${all.length} access${all.length === 1 ? "" : "es"}${all.length > visible.length ? ` (newest ${visible.length} shown)` : ""}`,
            onChain ? `${onChain} verified on chain` : null,
            serviceRoot ? `${serviceRoot} checked against the service's root` : null,
            failed ? `${failed} failed verification` : null,
            waiting ? `${waiting} waiting to be anchored or checked` : null,
          ]
            .filter(Boolean)
            .join(" · ");
  }

  async function fetchEvents(): Promise<void> {
    // Re-read from the oldest event still waiting for its batch, so its batch id shows up once anchored.
    const pending = [...events.values()].filter((e) => e.batchId === null).map((e) => e.seq);
    let after = pending.length ? Math.min(...pending) - 1 : cursor;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await api<{ events: EventView[]; next: number | null }>(`/audit/events?limit=1000&after=${after}${options.query ? `&${options.query}` : ""}`);
      for (const e of body.events) {
        events.set(e.seq, e);
        cursor = Math.max(cursor, e.seq);
      }
      if (body.next === null) break;
      after = body.next;
    }
  }

  async function verifyVisible(): Promise<void> {
    const todo = sorted()
      .slice(0, shown)
      .filter((e) => {
        const v = verifications.get(e.id);
        return e.batchId !== null && (!v || v.state === "pending" || v.state === "error");
      })
      .slice(0, Math.max(0, proofBudget()));
    for (const e of todo) {
      if (stopped) return;
      proofTimes.push(Date.now());
      const v = await verifyEvent(ctx, chain, e);
      verifications.set(e.id, v);
      if (v.state === "error" && v.retryAfter) {
        backoffUntil = Date.now() + v.retryAfter * 1000;
        break;
      }
    }
  }

  async function tick(schedule = true): Promise<void> {
    if (stopped) return;
    try {
      if (Date.now() >= backoffUntil) {
        dir = await directory(ctx);
        await fetchEvents();
        draw();
        await verifyVisible();
        draw();
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) backoffUntil = Date.now() + (error.retryAfter ?? 10) * 1000;
      else if (!stopped) showError(error, `Loading ${options.heading.toLowerCase()}`);
    }
    if (schedule && !stopped) timer = setTimeout(() => void tick(), POLL_MS);
  }

  env.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
  void tick();
  return section;
}
