import { Wallet } from "ethers";
import { guarded, say } from "../api";
import { actionButton, field, h, replace, shortHex } from "../dom";
import type { ViewEnv } from "../view-env";
import { hasWallet, keySigner, rememberBrowserKey, rememberedBrowserKey, signIn, walletSigner, type Signer } from "../session";

const KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/** Sign-in for a view: browser wallet, a key kept in this browser, or (dev stack only) a demo account. */
export function renderSignIn(env: ViewEnv, role: string): void {
  const { ctx } = env;
  const run = (signer: () => Promise<Signer> | Signer) =>
    guarded("Signing in", async () => {
      const s = await signer();
      say(`Signing in as ${shortHex(s.address)}…`);
      const session = await signIn(s);
      say(`Signed in as ${shortHex(session.address)}${session.roles.length ? ` (${session.roles.join(", ")})` : ""}`);
    });

  const walletPanel = h(
    "section",
    { class: "panel", "aria-labelledby": "signin-wallet" },
    h("h2", { id: "signin-wallet" }, "Browser wallet"),
    h("p", {}, "Sign the service's sign-in message (EIP-4361) with your wallet's account. Nothing is sent to the chain."),
    hasWallet()
      ? actionButton("Connect wallet and sign in", () => run(() => walletSigner(ctx)))
      : h("p", { class: "muted" }, "No browser wallet was found on this page (EIP-1193, window.ethereum)."),
  );

  const remembered = rememberedBrowserKey();
  const keyInput = h("input", { type: "password", autocomplete: "off", spellcheck: "false", placeholder: "0x…" });
  const keep = h("input", { type: "checkbox", id: "keep-key" });
  const useKey = async (key: string) => {
    if (!KEY.test(key.trim())) throw new Error("A private key is 32 bytes of hex (64 hex digits, optionally after 0x)");
    const normalised = key.trim().startsWith("0x") ? key.trim() : `0x${key.trim()}`;
    if (keep.checked) rememberBrowserKey(normalised);
    return keySigner(normalised, "browser-key", "key in this browser");
  };
  const keyPanel = h(
    "section",
    { class: "panel", "aria-labelledby": "signin-key" },
    h("h2", { id: "signin-key" }, "Key in this browser"),
    remembered
      ? h(
          "div",
          {},
          h("p", {}, "This browser keeps a key for ", h("span", { class: "mono" }, new Wallet(remembered).address), "."),
          h(
            "div",
            { class: "actions" },
            actionButton("Sign in with the kept key", () => run(() => keySigner(remembered, "browser-key", "key in this browser"))),
            actionButton(
              "Forget the kept key",
              async () => {
                rememberBrowserKey(null);
                say("The key was removed from this browser");
                renderSignIn(env, role);
              },
              { class: "danger" },
            ),
          ),
        )
      : null,
    h(
      "form",
      {
        onsubmit: (event: Event) => {
          event.preventDefault();
          void run(() => useKey(keyInput.value));
        },
      },
      field("Private key", keyInput, "Kept only in this page unless you tick the box below; it never leaves the browser."),
      h("div", { class: "field" }, h("label", { for: "keep-key", class: "checks" }, keep, " Keep it in this browser (localStorage) for next time")),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit" }, "Sign in with this key"),
        actionButton(
          "Create a new key",
          async () => {
            const wallet = Wallet.createRandom();
            keyInput.value = wallet.privateKey;
            keyInput.type = "text";
            say(`New key for ${wallet.address}: write it down before you sign in`);
          },
          { class: "secondary" },
        ),
      ),
    ),
  );

  const demos = ctx.config.demoAccounts.filter((a) => ["patient", "institution", "regulator"].includes(a.role));
  const sorted = [...demos.filter((a) => a.role === role), ...demos.filter((a) => a.role !== role)];
  const demoPanel = ctx.config.dev
    ? h(
        "section",
        { class: "panel", "aria-labelledby": "signin-demo" },
        h("h2", { id: "signin-demo" }, "Demo accounts"),
        h("p", { class: "muted" }, "Development stack only: Hardhat's public test keys, worthless anywhere else."),
        h(
          "ul",
          { class: "demo-accounts" },
          sorted.map((a) =>
            h(
              "li",
              {},
              actionButton(`${a.name}`, () => run(() => keySigner(a.privateKey, "demo", a.name)), {
                class: a.role === role ? "" : "secondary",
                "data-demo": a.name,
                "aria-label": `Sign in as ${a.name} (${a.role}, ${a.address})`,
                title: `${a.role} · ${a.address}`,
              }),
            ),
          ),
        ),
      )
    : null;

  replace(
    env.main,
    h("h1", {}, `Sign in as ${role === "institution" ? "an institution" : `a ${role}`}`),
    h("p", {}, "Every actor is an account on the chain. The service gives you a short-lived token for the account whose key signs its sign-in message."),
    h("div", { class: "grid" }, demoPanel, walletPanel, keyPanel),
  );
}
