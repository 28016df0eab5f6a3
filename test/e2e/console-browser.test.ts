import { getBytes, Wallet, type TypedDataField } from "ethers";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import { PROJECT_ROOT } from "../../service/paths";
import { identifiersHash } from "../../service/patients/identifiers";
import { runTs, type RunningProcess } from "../support/process";
import { labObservation } from "../support/synthea";
import { READY_TIMEOUT_MS } from "../support/ready";

/** Debian's Chromium (`.ci/run` installs it when missing); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Screenshots of each view, for people reviewing a run (gitignored). */
const SCREENSHOTS = join(PROJECT_ROOT, "test-results", "console");
/** Anchoring, indexing and a busy machine: waits are generous, and everything is polled rather than timed. */
const SLOW_MS = READY_TIMEOUT_MS;
const STEP_TIMEOUT_MS = READY_TIMEOUT_MS + 60_000;

const alice = new Wallet(demoAccount("patient", 0).privateKey);
const hospital = new Wallet(demoAccount("institution", 0).privateKey);
const lab = new Wallet(demoAccount("institution", 1).privateKey);

/**
 * The web console in a real browser against the real stack `npm start` runs (its own chain, contracts,
 * database and service, in a process of their own): a patient signs in with a demo account, grants a
 * consent to an institution picked by name, sees it active; the institution reads a record through the
 * API; the patient's timeline shows that access verified on chain; the patient revokes, the next read is
 * refused and shows up verified too. The institution signs in through a browser wallet (EIP-1193), and a
 * regulator verifies a batch in the browser and downloads an export.
 */
describe("web console in Chromium", () => {
  let stack: RunningProcess;
  let api: string;
  let chainUrl: string;
  let browser: Browser;
  let patientContext: BrowserContext;
  let page: Page;
  let recordId: string;
  const problems: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = runTs("scripts/dev.ts", { PORT: "0", CHAIN_PORT: "0", LOG_LEVEL: "warn", SEED_DEMO: "0", HOST: "127.0.0.1" });
    [, api] = await stack.waitFor(/API\s+(http:\S+)/, SLOW_MS);
    [, chainUrl] = await stack.waitFor(/Chain\s+(http:\S+)/, SLOW_MS);
    await waitForHealth();

    // St Mary's enrols Alice (with her signature) and publishes a laboratory result of hers, through the API.
    const wellKnown = (await (await fetch(`${api}/.well-known/consentry`)).json()) as { eip712: { domain: Record<string, unknown>; types: Record<string, TypedDataField[]> } };
    const domain = wellKnown.eip712.domain;
    const types = wellKnown.eip712.types;
    const hospitalAuth = await signIn(hospital);
    const identifiers = [{ system: "urn:oid:2.16.840.1.113883.19.5", value: "MRN-CONSOLE-1" }];
    const deadline = Math.floor(Date.now() / 1000) + 3600;
    const signature = await alice.signTypedData(domain, { Enrolment: types.Enrolment }, { patient: alice.address, custodian: hospital.address, identifiersHash: identifiersHash(identifiers), deadline });
    const enrolled = await call("POST", "/patients/enrol", hospitalAuth, { patient: alice.address, identifiers, deadline, signature });
    expect(enrolled.status).toBe(201);
    const record = await call("POST", "/fhir/Observation", hospitalAuth, labObservation(`did:pkh:eip155:31337:${alice.address}`));
    expect(record.status).toBe(201);
    recordId = record.body.id;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    patientContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await watched(patientContext);
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    if (stack && stack.child.exitCode === null) {
      stack.child.kill("SIGTERM");
      await Promise.race([stack.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (stack.child.exitCode === null) stack.child.kill("SIGKILL");
    }
  });

  /** Waits for `selector` on `p`; a timeout names what the console showed (its alert and status lines). */
  async function see(p: Page, what: Locator, timeout = SLOW_MS): Promise<void> {
    try {
      await what.waitFor({ timeout });
    } catch (error) {
      const alert = await p.locator("#alert").textContent().catch(() => "");
      const status = await p.locator("#status").textContent().catch(() => "");
      throw new Error(`${(error as Error).message.split("\n")[0]}\n  alert: ${alert || "(none)"}\n  status: ${status || "(none)"}`);
    }
  }

  async function waitForHealth(): Promise<void> {
    const deadline = Date.now() + SLOW_MS;
    while (Date.now() < deadline) {
      const res = await fetch(`${api}/health`).catch(() => undefined);
      if (res?.status === 200) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error("the service never became healthy");
  }

  async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function signIn(wallet: Wallet): Promise<Record<string, string>> {
    const { body: challenge } = await call("POST", "/auth/challenge", {}, { address: wallet.address });
    const { body: token } = await call("POST", "/auth/token", {}, { message: challenge.message, signature: await wallet.signMessage(challenge.message) });
    return { authorization: `Bearer ${token.accessToken}` };
  }

  /** A page whose CSP violations, script errors and requests to anywhere but the service and the chain are collected. */
  async function watched(context: BrowserContext): Promise<Page> {
    const p = await context.newPage();
    const allowed = [new URL(api).origin, new URL(chainUrl).origin];
    p.on("console", (message) => {
      if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    p.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    p.on("request", (request) => {
      const url = request.url();
      if (!/^(blob|data):/.test(url) && !allowed.includes(new URL(url).origin)) foreignRequests.push(url);
    });
    return p;
  }

  it(
    "signs a patient in with a demo account and shows her enrolment",
    async () => {
      await page.goto(`${api}/patient`);
      // By keyboard: the demo account's button takes focus and Enter signs in; focus then lands on the view's heading.
      await page.getByRole("button", { name: /^Sign in as patient Alice/ }).focus();
      await page.keyboard.press("Enter");
      await see(page, page.getByRole("heading", { level: 1, name: "Your consents and the accesses to your data" }));
      // Focus moves when the heading is placed, not after the view's data has loaded.
      await page.waitForFunction(() => (globalThis as unknown as { document: { activeElement: { tagName: string } | null } }).document.activeElement?.tagName === "H1", undefined, { timeout: SLOW_MS });
      expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document.activeElement?.textContent)).toBe("Your consents and the accesses to your data");
      await see(page, page.locator("#account").getByText("patient Alice"));
      await see(page, page.locator(`[data-custodian="${hospital.address}"]`).getByText("St Mary's Hospital"));
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "grants a consent to an institution chosen by name, signed in the browser, and shows it active on chain",
    async () => {
      // A mistake is explained in the alert (role="alert"), not lost.
      await page.getByRole("button", { name: "Sign and grant" }).click();
      await see(page, page.getByRole("alert").getByText("Choose the institution the consent is for"));
      await page.getByLabel("Institution", { exact: true }).selectOption({ label: "Northside Lab" });
      await page.getByLabel("Laboratory results").check();
      expect(await page.getByLabel("treatment (TREAT)").isChecked()).toBe(true);
      await page.getByRole("button", { name: "Sign and grant" }).click();
      const row = page.locator("tr[data-status=active]", { hasText: "Northside Lab" }).filter({ hasText: "Laboratory results" });
      await see(page, row);
      await see(page, row.locator('[data-chain="on chain"]'));
      await see(page, page.locator("#status").getByText(/Consent active on chain/));
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "shows the institution's read, once anchored, in the patient's timeline as verified on chain",
    async () => {
      const labAuth = await signIn(lab);
      const read = await call("GET", `/fhir/Observation/${recordId}?purpose=TREAT`, labAuth);
      expect(read.status).toBe(200);
      const entry = page.locator('li[data-action="record.read"][data-decision="permit"]', { hasText: "Northside Lab" });
      await see(page, entry.locator(".badge", { hasText: "permitted" }));
      await see(page, page.locator('li[data-action="record.read"][data-decision="permit"][data-verification="verified-on-chain"]'));
      await see(page, entry.getByText("verified on chain"));
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "revokes the consent in the browser; the next read is refused and shows up refused and verified",
    async () => {
      await page.getByRole("button", { name: "Revoke the consent for Northside Lab" }).click();
      await see(page, page.locator("tr[data-status=revoked]", { hasText: "Northside Lab" }));
      const labAuth = await signIn(lab);
      const read = await call("GET", `/fhir/Observation/${recordId}?purpose=TREAT`, labAuth);
      expect(read.status).toBe(403);
      await see(page, page.locator('li[data-action="record.read"][data-decision="no-consent"][data-verification="verified-on-chain"]'));
      await see(page, page.locator('li[data-action="record.read"][data-decision="permit"][data-verification="verified-on-chain"]'));

    },
    STEP_TIMEOUT_MS,
  );

  it(
    "flags a break-glass read with its justification in the patient's timeline",
    async () => {
      const labAuth = await signIn(lab);
      const read = await call("GET", `/fhir/Observation/${recordId}?purpose=ETREAT&justification=${encodeURIComponent("Unconscious on arrival")}`, labAuth);
      expect(read.status).toBe(200);
      const entry = page.locator('li.break-glass[data-action="record.read"][data-decision="break-glass"]', { hasText: "Northside Lab" });
      await see(page, entry.getByText("Unconscious on arrival"));
      await see(page, page.locator('li[data-decision="break-glass"][data-verification="verified-on-chain"]'));
      await page.screenshot({ path: join(SCREENSHOTS, "patient.png"), fullPage: true });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "lets an institution sign in with a browser wallet (EIP-1193) and see its consents and access history",
    async () => {
      const context = await browser.newContext({ viewport: { width: 420, height: 900 } }); // a phone-sized screen
      await injectWallet(context, lab);
      const p = await watched(context);
      await p.goto(`${api}/institution`);
      await p.getByRole("button", { name: "Connect wallet and sign in" }).click();
      await see(p, p.getByRole("heading", { level: 1, name: "Northside Lab: consents and access history" }));
      await see(p, p.locator("tr[data-status=revoked]", { hasText: "patient Alice" }));
      await see(p, p.locator('li[data-action="record.read"][data-decision="permit"]'));
      await see(p, p.locator('li[data-action="record.read"][data-decision="no-consent"]'));
      await p.screenshot({ path: join(SCREENSHOTS, "institution.png"), fullPage: true });
      await context.close();
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "lets a regulator follow batches to the chain, verify one in the browser, search the trail and download an export",
    async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Regulator" }).click();
      await page.getByRole("button", { name: /^Sign in as Health Data Regulator/ }).click();
      await see(page, page.getByRole("heading", { level: 1, name: "Regulator: the access trail" }));
      const batch = page.locator("tr[data-batch]", { hasText: "root on chain matches" }).first();
      await see(page, batch);
      // The service's problem (title and detail) is what the alert shows.
      await page.getByLabel("Batch number").fill("9999");
      await page.getByRole("button", { name: "Verify in this browser" }).click();
      await see(page, page.getByRole("alert").getByText("No batch 9999"));
      await see(page, page.getByRole("alert").getByText(/HTTP 404 · batch-not-found/));
      await batch.getByRole("button", { name: /^Verify batch/ }).click();
      await see(page, page.locator('[data-result="verified-on-chain"]'));

      await page.getByLabel("Patient", { exact: true }).fill(alice.address);
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await see(page, page.locator("tr[data-seq]").first());

      const download = page.waitForEvent("download", { timeout: SLOW_MS });
      await page.getByRole("button", { name: "Download the export" }).click();
      const file = await (await download).path();
      const lines = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line));
      expect(lines[0]).toMatchObject({ kind: "header", chainId: 31337 });
      expect(lines.at(-1)).toMatchObject({ kind: "end" });
      expect(lines.filter((l) => l.kind === "event").length).toBeGreaterThanOrEqual(4);
      await see(page, page.locator('[data-export="complete"]'));
      await page.screenshot({ path: join(SCREENSHOTS, "regulator.png"), fullPage: true });
    },
    STEP_TIMEOUT_MS,
  );

  it("loaded nothing from elsewhere and broke no CSP rule", () => {
    expect(foreignRequests).toEqual([]);
    expect(problems).toEqual([]);
  });
});

/** A minimal EIP-1193 wallet in the page, backed by a key in the test: what MetaMask would answer. */
async function injectWallet(context: BrowserContext, wallet: Wallet): Promise<void> {
  await context.exposeBinding("__consentryTestWallet", async (_source, method: string, params: unknown[]) => {
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [wallet.address];
      case "eth_chainId":
        return "0x7a69";
      case "personal_sign":
        return wallet.signMessage(getBytes(params[0] as string));
      case "eth_signTypedData_v4": {
        const { domain, types, message } = JSON.parse(params[1] as string);
        delete types.EIP712Domain;
        return wallet.signTypedData(domain, types, message);
      }
      default:
        throw new Error(`unsupported method ${method}`);
    }
  });
  await context.addInitScript(() => {
    const page = globalThis as unknown as { __consentryTestWallet: (method: string, params: unknown[]) => Promise<unknown>; ethereum: unknown };
    page.ethereum = { request: ({ method, params }: { method: string; params?: unknown[] }) => page.__consentryTestWallet(method, params ?? []) };
  });
}
