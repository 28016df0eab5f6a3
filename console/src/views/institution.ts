import { isAddress } from "ethers";
import { api, guarded, say } from "../api";
import { directory } from "../directory";
import { field, h, replace } from "../dom";
import type { ViewEnv } from "../view-env";
import { session } from "../session";
import { consentTable, type ConsentView } from "./consents";
import { timeline } from "./timeline";

/** An institution: the consents patients gave it (or any institution), and its own access history. */
export async function renderInstitution(env: ViewEnv): Promise<void> {
  const { ctx, chain } = env;
  const s = session()!;
  const dir = await directory(ctx, true);
  const me = s.address;
  const name = dir.nameOf(me);

  const results = h("div", { "aria-live": "polite" });
  const patient = h("input", { type: "text", name: "patient", placeholder: "0x… (empty: every patient)", autocomplete: "off", spellcheck: "false" });

  async function lookUp(): Promise<void> {
    const address = patient.value.trim();
    if (address && !isAddress(address)) throw new Error(`${address} is not an account address`);
    const list = await api<ConsentView[]>(address ? `/consents?patient=${address}` : "/consents");
    replace(
      results,
      consentTable(ctx, chain, dir, list, {
        caption: address ? `Consents of patient ${address} towards ${name ?? "you"} (or any institution)` : `Consents naming ${name ?? "you"} (or any institution)`,
        party: "patient",
      }),
    );
    say(`${list.length} consent${list.length === 1 ? "" : "s"} found`);
  }

  const form = h(
    "form",
    { role: "search", "aria-label": "Look up consents" },
    field("Patient account", patient, "The consents a patient gave you, or any institution, with their status on chain"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Look up consents")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void guarded("Looking up consents", lookUp);
  });

  replace(
    env.main,
    h("h1", {}, name ? `${name}: consents and access history` : "Institution: consents and access history"),
    s.roles.includes("institution") ? null : h("p", { class: "alert-inline muted" }, "This account does not hold the institution role on chain: the service shows only what any account may see."),
    h("section", { class: "panel", "aria-labelledby": "inst-consents-h" }, h("h2", { id: "inst-consents-h" }, "Patients' consents"), form, results),
    timeline(env, { query: "", perspective: "institution", me, heading: "Your access history" }),
  );
  await guarded("Looking up consents", lookUp);
}
