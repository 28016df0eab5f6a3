import { h, replace } from "../dom";
import type { ViewEnv } from "../view-env";
import { session } from "../session";

export function renderHome(env: ViewEnv): void {
  const s = session();
  const card = (view: "patient" | "institution" | "regulator", title: string, text: string) =>
    h("section", { class: "panel" }, h("h2", {}, h("a", { href: `/${view}`, "data-view": view }, title)), h("p", {}, text));
  replace(
    env.main,
    h("h1", {}, "Consentry console"),
    h(
      "p",
      {},
      "Consent and audit for health data, anchored on chain. Sign in with your own account: a browser wallet, a key kept in this browser",
      env.ctx.config.dev ? ", or one of the development stack's demo accounts." : ".",
    ),
    s ? h("p", { class: "muted" }, "You are signed in; pick the view for what you want to do.") : null,
    h(
      "div",
      { class: "grid" },
      card("patient", "Patient", "Grant and revoke consent with your own signature, and see every access to your data — each one checked against the chain in this browser."),
      card("institution", "Institution", "Look up the consents patients gave you, and your own access history."),
      card("regulator", "Regulator", "Search the access trail, follow batches to their on-chain anchors, verify a batch in the browser, and download an export."),
    ),
  );
}
