import { isAddress } from "ethers";
import { api, ApiError, apiRaw, guarded, say } from "../api";
import { ChainUnreachable } from "../chain";
import { ACTION_LABELS, DECISION_LABELS, type Context } from "../context";
import { directory, type Directory } from "../directory";
import { actionButton, badge, field, formatTime, h, replace, shortHex } from "../dom";
import type { ViewEnv } from "../view-env";
import { session } from "../session";
import type { BatchView, EventView } from "../trail";
import { rootOnChain, verifyBatch, verifyEvent } from "../verify";

const BATCHES_PER_PAGE = 10;

/** A regulator: search the trail, follow batches to the chain, verify a batch in the browser, download an export. */
export async function renderRegulator(env: ViewEnv): Promise<void> {
  const { ctx } = env;
  const s = session()!;
  const dir = await directory(ctx, true);
  const report = h("div", { class: "verify-report", "aria-live": "polite" });
  const batchId = h("input", { type: "number", min: "1", step: "1", name: "batch", inputmode: "numeric" });

  const verify = async (id: number) => {
    batchId.value = String(id);
    replace(report, h("p", {}, `Verifying batch ${id}…`));
    const result = await verifyBatch(ctx, env.chain, id, (message) => replace(report, h("p", {}, message)));
    replace(
      report,
      h(
        "div",
        { "data-batch": id, "data-result": result.ok ? (result.onChain ? "verified-on-chain" : "verified-service-root") : "failed" },
        result.ok
          ? badge(result.onChain ? `batch ${id} verified on chain` : `batch ${id} checked against the service's root`, result.onChain ? "ok" : "warn")
          : badge(`batch ${id} failed verification`, "bad"),
        result.failure ? h("p", {}, h("strong", {}, "Failure: "), result.failure) : null,
        h("ul", {}, result.lines.map((line) => h("li", {}, line))),
      ),
    );
    say(result.ok ? `Batch ${id} verified` : `Batch ${id} failed verification`);
  };

  const verifyForm = h(
    "form",
    {},
    field("Batch number", batchId, "Every event of the batch is taken from the export, its leaf recomputed here, the tree rebuilt and its root compared with the chain's"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Verify in this browser")),
    report,
  );
  verifyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = Number(batchId.value);
    if (!Number.isSafeInteger(id) || id < 1) return void guarded("Verifying a batch", async () => Promise.reject(new Error("Enter a batch number (1, 2, 3 …)")));
    const button = verifyForm.querySelector<HTMLButtonElement>("button[type=submit]")!;
    button.disabled = true;
    void guarded(`Verifying batch ${id}`, () => verify(id)).finally(() => (button.disabled = false));
  });

  replace(
    env.main,
    h("h1", {}, "Regulator: the access trail"),
    s.roles.includes("regulator") ? null : h("p", { class: "muted" }, "This account does not hold the regulator role on chain: the service will refuse the trail's full search and the export."),
    searchPanel(env, dir),
    batchesPanel(env, verify),
    h("div", { class: "grid" }, h("section", { class: "panel", "aria-labelledby": "verify-h" }, h("h2", { id: "verify-h" }, "Verify a batch"), verifyForm), exportPanel()),
  );
}

function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const ms = new Date(local).getTime();
  if (Number.isNaN(ms)) throw new Error(`${local} is not a date and time`);
  return new Date(ms).toISOString();
}

function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function searchPanel(env: ViewEnv, dir: Directory): HTMLElement {
  const { ctx } = env;
  const patient = h("input", { type: "text", name: "patient", placeholder: "0x…", autocomplete: "off", spellcheck: "false" });
  const actor = h(
    "select",
    { name: "actor" },
    h("option", { value: "" }, "Anyone"),
    dir.institutions.map((i) => h("option", { value: i.address }, i.name ?? i.address)),
  );
  const from = h("input", { type: "datetime-local", name: "from" });
  const to = h("input", { type: "datetime-local", name: "to" });
  const results = h("div", { "aria-live": "polite" });
  let after = 0;
  let lastQuery = "";

  async function search(fresh: boolean): Promise<void> {
    const params = new URLSearchParams({ limit: "50" });
    const p = patient.value.trim();
    if (p && !isAddress(p)) throw new Error(`${p} is not an account address`);
    if (p) params.set("patient", p);
    if (actor.value) params.set("actor", actor.value);
    const fromIso = toIso(from.value);
    const toIsoValue = toIso(to.value);
    if (fromIso) params.set("from", fromIso);
    if (toIsoValue) params.set("to", toIsoValue);
    const query = params.toString();
    if (fresh || query !== lastQuery) after = 0;
    lastQuery = query;
    const page = await api<{ events: EventView[]; next: number | null }>(`/audit/events?${query}&after=${after}`);
    const next = page.next;
    replace(
      results,
      trailTable(ctx, env, dir, page.events),
      h(
        "div",
        { class: "actions" },
        after > 0 ? h("span", { class: "muted" }, `Events after ${after}`) : null,
        next !== null
          ? actionButton("Next page", async () => {
              after = next;
              await guarded("Searching the trail", () => search(false));
            }, { class: "secondary" })
          : h("span", { class: "muted" }, "End of the trail for this search"),
      ),
    );
    say(`${page.events.length} event${page.events.length === 1 ? "" : "s"} found`);
  }

  const form = h(
    "form",
    { role: "search", "aria-label": "Search the access trail" },
    h("div", { class: "inline-fields" }, field("Patient", patient), field("Who accessed", actor), field("From", from), field("Until", to)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void guarded("Searching the trail", () => search(true));
  });
  return h("section", { class: "panel", "aria-labelledby": "search-h" }, h("h2", { id: "search-h" }, "Search the trail"), form, results);
}

function trailTable(ctx: Context, env: ViewEnv, dir: Directory, events: EventView[]): HTMLElement {
  if (events.length === 0) return h("p", { class: "muted" }, "No events match.");
  const rows = events.map((e) => {
    const decision = DECISION_LABELS[e.decision] ?? { text: e.decision, tone: "neutral" as const };
    const cell = h("td", { "data-verification": "unchecked" });
    const check = actionButton("Check proof", async () => {
      const v = await verifyEvent(ctx, env.chain, e);
      cell.dataset.verification = v.state;
      const tone = v.state === "verified-on-chain" ? "ok" : v.state === "verified-service-root" ? "warn" : v.state === "failed" ? "bad" : "neutral";
      const text = { "verified-on-chain": "verified on chain", "verified-service-root": "service's root only", failed: "failed", pending: "not anchored yet", error: "not checked" }[v.state];
      replace(cell, badge(text, tone, v.note), h("div", { class: "small muted" }, v.note));
    }, { class: "secondary", "aria-label": `Check the proof of event ${e.seq}` });
    cell.append(check);
    return h(
      "tr",
      { "data-seq": e.seq },
      h("td", {}, String(e.seq)),
      h("td", {}, h("time", { datetime: e.time }, formatTime(e.time))),
      h("td", { title: e.actor }, dir.label(e.actor), e.requester.toLowerCase() !== e.actor.toLowerCase() ? h("div", { class: "small muted" }, `for ${dir.label(e.requester)}`) : null),
      h("td", { title: e.patient ?? "" }, e.patient ? dir.nameOf(e.patient) ?? shortHex(e.patient) : "—"),
      h("td", {}, ACTION_LABELS[e.action] ?? e.action, e.resourceType ? h("div", { class: "small muted" }, e.resourceType) : null),
      h("td", {}, e.purposes.join(", ") || "—"),
      h("td", {}, badge(decision.text, decision.tone), e.breakGlass ? h("div", { class: "small" }, badge("break-glass", "warn"), " ", e.justification ?? "") : null),
      h("td", {}, e.batchId === null ? badge("not anchored", "neutral") : String(e.batchId)),
      cell,
    );
  });
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, "Access events in sequence order"),
      h(
        "thead",
        {},
        h("tr", {}, ["Seq", "Time", "Who", "Patient", "What", "Purpose", "Decision", "Batch", "Proof"].map((t) => h("th", { scope: "col" }, t))),
      ),
      h("tbody", {}, rows),
    ),
  );
}

function batchesPanel(env: ViewEnv, verify: (id: number) => Promise<void>): HTMLElement {
  const { chain } = env;
  const body = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
  let newest = 0;
  let oldestShown = 0;

  const exists = async (id: number) => {
    try {
      await api<BatchView>(`/audit/batches/${id}`);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return false;
      throw error;
    }
  };

  /** The newest batch: the chain's count, plus any the service has built but not yet anchored; else probed. */
  async function latest(): Promise<number> {
    let n = 0;
    try {
      n = await chain.batchCount();
    } catch (error) {
      if (!(error instanceof ChainUnreachable)) throw error;
      let hi = 1;
      while (await exists(hi)) hi *= 2;
      let lo = hi / 2;
      if (lo < 1) return 0;
      // exists(lo) holds, exists(hi) does not.
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (await exists(mid)) lo = mid;
        else hi = mid;
      }
      return lo;
    }
    for (let i = 0; i < 3 && (await exists(n + 1)); i++) n++;
    return n;
  }

  async function row(id: number): Promise<HTMLElement> {
    const b = await api<BatchView>(`/audit/batches/${id}`);
    let onChain: HTMLElement;
    try {
      const c = b.state === "confirmed" ? await rootOnChain(chain, b) : null;
      onChain =
        b.state !== "confirmed"
          ? badge(`${b.state}, not on chain yet`, "neutral")
          : !c
            ? badge("not found on chain", "bad")
            : c.status !== "anchored"
              ? badge(`${c.status} on chain`, "bad")
              : c.root === b.root.toLowerCase()
                ? badge("root on chain matches", "ok", c.root)
                : badge("root on chain differs", "bad", `chain ${c.root}, service ${b.root}`);
    } catch (error) {
      onChain = error instanceof ChainUnreachable ? badge("chain not reachable", "neutral", error.message) : badge("chain read failed", "warn", (error as Error).message);
    }
    return h(
      "tr",
      { "data-batch": b.batchId },
      h("td", {}, String(b.batchId)),
      h("td", {}, `${b.firstSeq}–${b.lastSeq}`, h("div", { class: "small muted" }, `${b.lastSeq - b.firstSeq + 1} events${b.breakGlass ? " · break-glass" : ""}${b.eventsPruned ? " · pruned" : ""}`)),
      h("td", {}, h("span", { class: "mono", title: b.root }, shortHex(b.root, 10, 6))),
      h("td", {}, b.blockNumber !== null ? `block ${b.blockNumber}` : "—", b.txHash ? h("div", { class: "small mono", title: b.txHash }, shortHex(b.txHash, 8, 6)) : null),
      h("td", {}, onChain),
      h("td", {}, b.state === "confirmed" && !b.eventsPruned ? actionButton("Verify", () => guarded(`Verifying batch ${b.batchId}`, () => verify(b.batchId)), { class: "secondary", "aria-label": `Verify batch ${b.batchId} in this browser` }) : null),
    );
  }

  const tbody = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary" }, "Show older batches");
  async function load(from: number): Promise<void> {
    const ids: number[] = [];
    for (let id = from; id >= 1 && ids.length < BATCHES_PER_PAGE; id--) ids.push(id);
    for (const id of ids) tbody.append(await row(id));
    oldestShown = ids.length ? ids[ids.length - 1] : oldestShown;
    more.hidden = oldestShown <= 1;
  }
  more.addEventListener("click", () => void guarded("Loading batches", () => load(oldestShown - 1)));
  const refresh = actionButton("Refresh", () => guarded("Loading batches", start), { class: "secondary" });

  async function start(): Promise<void> {
    newest = await latest();
    tbody.replaceChildren();
    if (newest === 0) {
      replace(body, h("p", { class: "muted" }, "No batches anchored yet."), h("div", { class: "actions" }, refresh));
      return;
    }
    replace(
      body,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h("caption", {}, `Anchored batches, newest first (${newest} in all)`),
          h("thead", {}, h("tr", {}, ["Batch", "Events", "Root", "Anchored in", "On chain", "Verify"].map((t) => h("th", { scope: "col" }, t)))),
          tbody,
        ),
      ),
      h("div", { class: "actions" }, more, refresh),
    );
    await load(newest);
  }
  void guarded("Loading batches", start);
  return h("section", { class: "panel", "aria-labelledby": "batches-h" }, h("h2", { id: "batches-h" }, "Batches"), body);
}

function exportPanel(): HTMLElement {
  const from = h("input", { type: "datetime-local", name: "export-from", required: true, value: localInput(Date.now() - 30 * 86_400_000) });
  const to = h("input", { type: "datetime-local", name: "export-to", required: true, value: localInput(Date.now() + 3_600_000) });
  const result = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    {},
    h("div", { class: "inline-fields" }, field("From", from), field("Until", to)),
    h("p", { class: "hint" }, "NDJSON as docs/access-trail.md specifies: the input of `npm run verify`, which checks it against the chain on its own."),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Download the export")),
    result,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void guarded("Downloading the export", async () => {
      const fromIso = toIso(from.value);
      const toIsoValue = toIso(to.value);
      if (!fromIso || !toIsoValue) throw new Error("Choose both ends of the range");
      replace(result, h("p", {}, "Preparing the export…"));
      const response = await apiRaw(`/audit/export?from=${encodeURIComponent(fromIso)}&to=${encodeURIComponent(toIsoValue)}`, {}, "application/x-ndjson");
      const text = await response.text();
      const lines = text.split("\n").filter((l) => l.trim());
      const kinds = lines.map((l) => (JSON.parse(l) as { kind: string }).kind);
      const file = `consentry-trail-${fromIso.slice(0, 10)}-${toIsoValue.slice(0, 10)}.ndjson`;
      const url = URL.createObjectURL(new Blob([text], { type: "application/x-ndjson" }));
      const link = h("a", { href: url, download: file, "data-download": file }, `Save ${file} again`);
      const batches = kinds.filter((k) => k === "batch").length;
      const events = kinds.filter((k) => k === "event").length;
      const complete = kinds.includes("end");
      replace(
        result,
        h(
          "p",
          { "data-export": complete ? "complete" : "partial" },
          `Downloaded ${file}: ${batches} batch${batches === 1 ? "" : "es"}, ${events} event${events === 1 ? "" : "s"}`,
          complete ? ". " : " — cut short (no end line). ",
          link,
        ),
      );
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10 * 60_000);
      say(`Export downloaded: ${events} events`);
    });
  });
  return h("section", { class: "panel", "aria-labelledby": "export-h" }, h("h2", { id: "export-h" }, "Download an export"), form);
}
