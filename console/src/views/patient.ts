import { ZeroAddress, isAddress, getAddress } from "ethers";
import { api, ApiError, guarded, say } from "../api";
import { ChainUnreachable } from "../chain";
import { maskOf, type Context } from "../context";
import { directory, type Directory } from "../directory";
import { actionButton, field, formatTime, h, replace, shortHex } from "../dom";
import type { ViewEnv } from "../view-env";
import { requireSigner, session } from "../session";
import { consentTable, type ConsentView } from "./consents";
import { timeline } from "./timeline";

interface Enrolment {
  custodian: string;
  identifiersHash: string;
  enrolledAt: string;
}

interface Submission {
  consentId: string;
  status: "pending" | "active" | "revoked";
  transaction: { hash?: string; state: string; blockNumber?: number };
  consent?: ConsentView;
}

/** Seconds a signature stays usable: long enough to confirm in a wallet, short enough not to linger. */
const SIGNATURE_TTL_S = 15 * 60;
const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function renderPatient(env: ViewEnv): Promise<void> {
  const { ctx, chain } = env;
  const me = session()!.address;
  const dir = await directory(ctx, true);

  const enrolments = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const consents = h("div", {}, h("p", { class: "muted" }, "Loading…"));

  async function loadEnrolments(): Promise<void> {
    try {
      const list = await api<Enrolment[]>(`/patients/${me}/enrolments`);
      replace(
        enrolments,
        list.length === 0
          ? h("p", {}, "You are not enrolled with any institution yet. A hospital or clinic enrols you with your signature; until then you cannot grant consents.")
          : h(
              "ul",
              {},
              list.map((e) =>
                h("li", { "data-custodian": e.custodian }, h("strong", { title: e.custodian }, dir.label(e.custodian)), ` holds your records · enrolled ${formatTime(e.enrolledAt)}`),
              ),
            ),
      );
    } catch (error) {
      replace(enrolments, h("p", { class: "muted" }, error instanceof ApiError && error.status === 404 ? "This service does not list enrolments." : `Enrolments could not be loaded: ${(error as Error).message}`));
    }
  }

  async function loadConsents(): Promise<void> {
    const list = await api<ConsentView[]>(`/consents?patient=${me}`);
    replace(
      consents,
      consentTable(ctx, chain, dir, list, {
        caption: "Your consents, newest first, with their status on chain",
        party: "grantee",
        actions: (c) => (c.status === "revoked" ? null : actionButton("Revoke", () => revoke(c), { class: "danger", "aria-label": `Revoke the consent for ${dir.label(c.grantee)}` })),
      }),
    );
  }

  async function revoke(c: ConsentView): Promise<void> {
    await guarded("Revoking the consent", async () => {
      const signer = await requireSigner(ctx);
      const deadline = nowSeconds() + SIGNATURE_TTL_S;
      say("Sign the revocation…", 0);
      const signature = await signer.signTypedData(ctx.wellKnown.eip712.domain, ctx.wellKnown.eip712.types, "Revoke", { consentId: c.consentId, deadline });
      say("Relaying the revocation to the chain…", 0);
      const result = await api<Submission>(`/consents/${c.consentId}/revoke`, { body: { deadline, signature, wait: true } });
      say(`Consent for ${dir.label(c.grantee)} revoked on chain${result.transaction.blockNumber ? ` in block ${result.transaction.blockNumber}` : ""}`);
      await loadConsents();
    });
  }

  const grant = grantForm(ctx, dir, chain, me, async (submission) => {
    say(`Consent ${submission.status === "active" ? "active on chain" : submission.status}${submission.transaction.blockNumber ? ` (block ${submission.transaction.blockNumber})` : ""}: ${shortHex(submission.consentId, 10, 6)}`);
    await loadConsents();
  });

  replace(
    env.main,
    h("h1", {}, "Your consents and the accesses to your data"),
    h(
      "div",
      { class: "grid" },
      h("section", { class: "panel", "aria-labelledby": "enrolments-h" }, h("h2", { id: "enrolments-h" }, "Enrolments"), enrolments),
      h("section", { class: "panel", "aria-labelledby": "grant-h" }, h("h2", { id: "grant-h" }, "Grant a consent"), grant),
    ),
    h("section", { class: "panel", "aria-labelledby": "consents-h" }, h("h2", { id: "consents-h" }, "Consents"), consents),
    timeline(env, { query: `patient=${me}`, perspective: "patient", me, heading: "Accesses to your data" }),
  );
  await Promise.all([loadEnrolments(), guarded("Loading your consents", loadConsents)]);
}

/** The grant form: institution by name from the directory, categories, purposes, effect and period; signed here (EIP-712), relayed by the service. */
function grantForm(ctx: Context, dir: Directory, chain: ViewEnv["chain"], me: string, done: (s: Submission) => Promise<void>): HTMLFormElement {
  const institutions = dir.institutions.filter((i) => i.active !== false && (!i.role || i.role === "institution"));
  const grantee = h(
    "select",
    { required: true, name: "grantee" },
    h("option", { value: "" }, "Choose an institution…"),
    institutions.map((i) => h("option", { value: i.address }, i.name ? `${i.name}` : `${i.address}`)),
    h("option", { value: ZeroAddress }, "Any registered institution"),
  );
  const granteeAddress = h("input", { type: "text", name: "grantee-address", placeholder: "0x…", autocomplete: "off", spellcheck: "false" });
  const granteeHint = dir.available
    ? "From the service's institution directory."
    : "The service has no institution directory: names come from the demo accounts where known; or enter an address below.";

  const check = (name: string, value: string, label: string, checked = false) =>
    h("label", {}, h("input", { type: "checkbox", name, value, checked }), label);
  const categories = h(
    "fieldset",
    {},
    h("legend", {}, "Data it covers"),
    h("div", { class: "checks" }, ctx.wellKnown.categories.codes.map((c) => check("category", c.code, c.display))),
  );
  const purposes = h(
    "fieldset",
    {},
    h("legend", {}, "For which purposes"),
    h(
      "div",
      { class: "checks" },
      ctx.wellKnown.purposes.codes.map((p) => check("purpose", p.code, `${p.display} (${p.code})`, p.code === "TREAT")),
    ),
  );
  const effect = h(
    "fieldset",
    {},
    h("legend", {}, "Effect"),
    h(
      "div",
      { class: "checks" },
      h("label", {}, h("input", { type: "radio", name: "effect", value: "0", checked: true }), "Permit"),
      h("label", {}, h("input", { type: "radio", name: "effect", value: "1" }), "Deny (overrides any permit)"),
    ),
  );
  const from = h("input", { type: "date", name: "valid-from" });
  const until = h("input", { type: "date", name: "valid-until" });

  const form = h(
    "form",
    { novalidate: true, "aria-describedby": "grant-note" },
    field("Institution", grantee, granteeHint),
    dir.available ? null : field("…or its address", granteeAddress),
    categories,
    purposes,
    effect,
    h("div", { class: "inline-fields" }, field("Valid from", from, "Empty: from now"), field("Valid until", until, "Empty: until you revoke it")),
    h("p", { id: "grant-note", class: "hint" }, "You sign the terms in this browser (EIP-712); the service relays them to the chain, so you pay no gas."),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign and grant")),
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
    if (button.disabled) return;
    button.disabled = true;
    void guarded("Granting the consent", async () => {
      const terms = readTerms();
      const signer = await requireSigner(ctx);
      const deadline = nowSeconds() + SIGNATURE_TTL_S;
      let nonce = await nextNonce(ctx, chain, me);
      for (let attempt = 0; ; attempt++) {
        say("Sign the consent…", 0);
        const signature = await signer.signTypedData(ctx.wellKnown.eip712.domain, ctx.wellKnown.eip712.types, "Grant", { ...terms, nonce, deadline });
        say("Relaying the consent to the chain…", 0);
        try {
          const submission = await api<Submission>("/consents", { body: { terms, nonce, deadline, signature, wait: true } });
          form.reset();
          await done(submission);
          return;
        } catch (error) {
          // Another grant consumed the nonce meanwhile: the problem names the next one; sign again once.
          const next = error instanceof ApiError && (error.slug === "nonce-used" || error.slug === "nonce-invalid") ? /next nonce is (\d+)/.exec(error.detail ?? "")?.[1] : undefined;
          if (!next || attempt > 0) throw error;
          nonce = next;
        }
      }
    }).finally(() => (button.disabled = false));
  });

  function readTerms() {
    const chosen = granteeAddress.value.trim() || grantee.value;
    if (!chosen) throw new Error("Choose the institution the consent is for");
    if (!isAddress(chosen)) throw new Error(`${chosen} is not an account address`);
    const cats = [...form.querySelectorAll<HTMLInputElement>("input[name=category]:checked")].map((i) => i.value);
    const purps = [...form.querySelectorAll<HTMLInputElement>("input[name=purpose]:checked")].map((i) => i.value);
    if (cats.length === 0) throw new Error("Choose at least one kind of data");
    if (purps.length === 0) throw new Error("Choose at least one purpose");
    const validFrom = from.value ? Math.floor(new Date(`${from.value}T00:00:00`).getTime() / 1000) : 0;
    const validUntil = until.value ? Math.floor(new Date(`${until.value}T23:59:59`).getTime() / 1000) : 0;
    if (validUntil && (validUntil <= nowSeconds() || validUntil <= validFrom)) throw new Error("“Valid until” must be later than today and than “valid from”");
    return {
      patient: me,
      grantee: getAddress(chosen),
      categories: Number(maskOf(cats, ctx.wellKnown.categories.codes)),
      purposes: Number(maskOf(purps, ctx.wellKnown.purposes.codes)),
      effect: Number(form.querySelector<HTMLInputElement>("input[name=effect]:checked")?.value ?? 0),
      validFrom,
      validUntil,
    };
  }
  return form;
}

/** The nonce the next grant must carry: GET /patients/{me}/nonce, else the chain itself, else the number of consents granted. */
async function nextNonce(ctx: Context, chain: ViewEnv["chain"], me: string): Promise<string> {
  try {
    return (await api<{ nonce: string }>(`/patients/${me}/nonce`)).nonce;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  try {
    return (await chain.nonce(me)).toString();
  } catch (error) {
    if (!(error instanceof ChainUnreachable)) throw error;
  }
  return String((await api<ConsentView[]>(`/consents?patient=${me}`)).length);
}
