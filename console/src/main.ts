import { showError } from "./api";
import { ChainReader } from "./chain";
import { context, type Context } from "./context";
import { $, h, replace, shortHex } from "./dom";
import { directory } from "./directory";
import { onSessionChange, restore, session, signOut } from "./session";
import { renderInstitution } from "./views/institution";
import { renderPatient } from "./views/patient";
import { renderRegulator } from "./views/regulator";
import { renderSignIn } from "./views/signin";
import { renderHome } from "./views/home";
import type { ViewEnv, ViewName } from "./view-env";


const ROLE_OF_VIEW: Record<Exclude<ViewName, "home">, string> = { patient: "patient", institution: "institution", regulator: "regulator" };

const cleanups: Array<() => void> = [];
let env: Omit<ViewEnv, "main" | "onLeave"> | undefined;

function viewOf(path: string): ViewName {
  const name = path.replace(/\/+$/, "").split("/")[1] ?? "";
  return name === "patient" || name === "institution" || name === "regulator" ? name : "home";
}

function navigate(view: ViewName): void {
  const path = view === "home" ? "/" : `/${view}`;
  if (location.pathname !== path) history.pushState({}, "", path);
  void render();
}

async function render(focus = true): Promise<void> {
  for (const cleanup of cleanups.splice(0)) cleanup();
  const main = $("#main");
  const view = viewOf(location.pathname);
  document.querySelectorAll<HTMLAnchorElement>("[data-nav]").forEach((a) => {
    if (a.dataset.nav === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  if (!env) return;
  const viewEnv: ViewEnv = { ...env, main, onLeave: (cleanup) => cleanups.push(cleanup) };
  document.title = view === "home" ? "Consentry console" : `${view[0].toUpperCase()}${view.slice(1)} · Consentry console`;
  if (focus) cleanups.push(focusHeadingWhenShown(main));
  try {
    if (view === "home") renderHome(viewEnv);
    else if (!session()) renderSignIn(viewEnv, ROLE_OF_VIEW[view]);
    else if (view === "patient") await renderPatient(viewEnv);
    else if (view === "institution") await renderInstitution(viewEnv);
    else await renderRegulator(viewEnv);
  } catch (error) {
    showError(error, "Could not show this view");
  }
}

/**
 * Moves focus to the new view's heading as soon as the view puts it in place, so keyboard and
 * screen-reader users land on it. Views place their heading before loading their data; waiting for
 * the data would move focus seconds later, away from wherever the user has gone meanwhile.
 */
function focusHeadingWhenShown(main: HTMLElement): () => void {
  // The view being left stays on screen until the new one replaces it; its heading is not the one to focus.
  const previous = main.querySelector("h1");
  const tryFocus = (): boolean => {
    const heading = main.querySelector<HTMLElement>("h1");
    if (!heading || heading === previous) return false;
    const active = document.activeElement;
    // The user already went somewhere in the new view: leave focus where it is.
    if (active && active !== document.body && active.isConnected) return true;
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
    return true;
  };
  if (tryFocus()) return () => undefined;
  const observer = new MutationObserver(() => {
    if (tryFocus()) observer.disconnect();
  });
  observer.observe(main, { childList: true, subtree: true });
  return () => observer.disconnect();
}

async function renderAccount(ctx: Context): Promise<void> {
  const area = $("#account");
  const s = session();
  if (!s) {
    replace(area, h("span", { class: "muted" }, "Not signed in"));
    return;
  }
  const dir = await directory(ctx).catch(() => null);
  const name = dir?.nameOf(s.address);
  const out = h("button", { type: "button", class: "secondary" }, "Sign out");
  out.addEventListener("click", () => signOut());
  replace(
    area,
    h(
      "span",
      {},
      "Signed in as ",
      h("strong", { title: s.address }, name ? `${name} (${shortHex(s.address)})` : shortHex(s.address)),
      s.roles.length ? h("span", { class: "muted" }, ` · ${s.roles.join(", ")}`) : h("span", { class: "muted" }, " · no role yet"),
    ),
    out,
  );
}

async function describeChain(ctx: Context, chain: ChainReader): Promise<void> {
  const note = $("#chain-note");
  const reach = await chain.reachable();
  note.textContent = reach.ok
    ? `Chain ${ctx.wellKnown.chainId}: proofs are checked in this browser against roots read from ${chain.url}`
    : `Proofs are checked against the service's roots: ${reach.reason}`;
}

async function start(): Promise<void> {
  document.addEventListener("click", (event) => {
    const link = (event.target as Element).closest?.("a[data-nav], a[data-view]") as HTMLAnchorElement | null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(viewOf(new URL(link.href).pathname));
  });
  window.addEventListener("popstate", () => void render());
  let ctx: Context;
  try {
    ctx = await context();
  } catch (error) {
    replace($("#main"), h("h1", {}, "The console cannot start"), h("p", {}, "The service's configuration could not be read."));
    showError(error, "Loading /.well-known/consentry and /console/config");
    return;
  }
  const chain = new ChainReader(ctx.config.chain.rpcUrl, ctx.wellKnown.chainId, ctx.wellKnown.contracts.AccessLedger, ctx.wellKnown.contracts.ConsentRegistry);
  env = { ctx, chain, navigate };
  restore(ctx);
  onSessionChange(() => {
    void renderAccount(ctx);
    void render();
  });
  void renderAccount(ctx);
  void describeChain(ctx, chain);
  await render(false);
}

void start();
