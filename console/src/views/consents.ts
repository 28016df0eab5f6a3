import { ChainUnreachable, type ChainReader } from "../chain";
import { categoryLabel, purposeLabel, type Context } from "../context";
import type { Directory } from "../directory";
import { badge, formatDate, h, shortHex } from "../dom";

/** A consent as GET /consents shows it (the projection of ConsentRegistry's events). */
export interface ConsentView {
  consentId: string;
  patient: string;
  grantee: string;
  categories: number;
  categoryCodes: string[];
  purposes: number;
  purposeCodes: string[];
  effect: "permit" | "deny";
  validFrom: number;
  validUntil: number;
  status: "active" | "revoked" | "expired" | "not-yet-valid";
  grantedAt: number;
  revokedAt?: number | null;
  grantedTx: string;
  grantedBlock: number;
}

const STATUS_TONE: Record<string, "ok" | "bad" | "warn" | "neutral"> = { active: "ok", revoked: "bad", expired: "neutral", "not-yet-valid": "warn" };

/** What the chain itself says about a consent, read from this browser; agrees with the service's view or says why not. */
export async function chainCheck(chain: ChainReader, c: ConsentView): Promise<{ text: string; tone: "ok" | "bad" | "warn" | "neutral"; note: string }> {
  try {
    const onChain = await chain.getConsent(c.consentId);
    if (!onChain || onChain.grantedAt === 0) return { text: "not found on chain", tone: "bad", note: "The registry holds no consent under this id" };
    const same =
      onChain.patient.toLowerCase() === c.patient.toLowerCase() &&
      onChain.grantee.toLowerCase() === c.grantee.toLowerCase() &&
      onChain.categories === BigInt(c.categories) &&
      onChain.purposes === BigInt(c.purposes) &&
      onChain.effect === (c.effect === "permit" ? 0 : 1) &&
      onChain.validFrom === c.validFrom &&
      onChain.validUntil === c.validUntil;
    if (!same) return { text: "differs on chain", tone: "bad", note: "The registry holds other terms under this id" };
    if (onChain.revokedAt > 0) return { text: "revoked on chain", tone: c.status === "revoked" ? "neutral" : "bad", note: `Revoked at ${new Date(onChain.revokedAt * 1000).toISOString()}` };
    return { text: "on chain", tone: "ok", note: `ConsentRegistry holds these terms, granted ${new Date(onChain.grantedAt * 1000).toISOString()}, not revoked` };
  } catch (error) {
    if (error instanceof ChainUnreachable) return { text: "as indexed by the service", tone: "neutral", note: `The chain cannot be read from this browser: ${error.message}` };
    return { text: "chain check failed", tone: "warn", note: (error as Error).message };
  }
}

export function validity(c: ConsentView): string {
  const from = c.validFrom ? formatDate(c.validFrom) : "granted";
  const until = c.validUntil ? formatDate(c.validUntil) : "until revoked";
  return c.validFrom || c.validUntil ? `${from} – ${until}` : "from grant until revoked";
}

/**
 * A table of consents. `party` is the other side (the grantee for a patient, the patient for an
 * institution); `actions` adds per-row buttons (revoke).
 */
export function consentTable(
  ctx: Context,
  chain: ChainReader,
  dir: Directory,
  consents: ConsentView[],
  options: { caption: string; party: "grantee" | "patient"; actions?: (c: ConsentView) => HTMLElement | null },
): HTMLElement {
  if (consents.length === 0) return h("p", { class: "muted" }, "No consents.");
  const rows = [...consents]
    .sort((a, b) => b.grantedAt - a.grantedAt)
    .map((c) => {
      const chainCell = h("td", { "data-chain": "checking" }, badge("checking chain…", "neutral"));
      void chainCheck(chain, c).then((r) => {
        chainCell.dataset.chain = r.text;
        chainCell.replaceChildren(badge(r.text, r.tone, r.note));
      });
      const party = options.party === "grantee" ? c.grantee : c.patient;
      return h(
        "tr",
        { "data-consent-id": c.consentId, "data-status": c.status },
        h("td", { title: party }, options.party === "grantee" ? dir.label(party) : dir.nameOf(party) ?? shortHex(party)),
        h("td", {}, c.categoryCodes.map((code) => categoryLabel(ctx, code)).join(", ")),
        h("td", {}, c.purposeCodes.map((code) => purposeLabel(ctx, code)).join(", ")),
        h("td", {}, c.effect === "permit" ? "permit" : badge("deny", "warn")),
        h("td", {}, validity(c)),
        h("td", {}, badge(c.status, STATUS_TONE[c.status] ?? "neutral")),
        chainCell,
        h("td", { class: "small" }, h("span", { class: "mono", title: c.grantedTx }, shortHex(c.grantedTx, 8, 6)), h("br", {}), `block ${c.grantedBlock}`),
        options.actions ? h("td", {}, options.actions(c)) : null,
      );
    });
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, options.caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, options.party === "grantee" ? "Institution" : "Patient"),
          h("th", { scope: "col" }, "Data"),
          h("th", { scope: "col" }, "Purposes"),
          h("th", { scope: "col" }, "Effect"),
          h("th", { scope: "col" }, "Valid"),
          h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col" }, "Chain"),
          h("th", { scope: "col" }, "Granted in"),
          options.actions ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null,
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}
