import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import { getBytes, Wallet } from "ethers";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { demoAccount, demoAccounts } from "../../scripts/lib/demo-accounts";
import { createApp } from "../../service/app";
import { loadConfig } from "../../service/config/app-config";
import { PROJECT_ROOT } from "../../service/paths";
import { inProcessChain } from "../support/chain";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { testDatabase, type TestDatabase } from "../support/database";
import { testServiceEnv, writeTempDeployment } from "../support/service";
import { READY_TIMEOUT_MS, SETTLE_TIMEOUT_MS } from "../support/ready";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = join(PROJECT_ROOT, "test-results", "portal");

/**
 * The developer portal in Chromium against the service as `npm start` configures it (demo accounts on):
 * sign in with a demo account, then Try it out sends authorised requests that reach their handlers, path
 * parameters filled in; a browser wallet (EIP-1193 personal_sign) signs in too. Nothing is fetched from
 * another origin and the CSP refuses nothing.
 */
describe("developer portal in Chromium", () => {
  let app: NestFastifyApplication;
  let database: TestDatabase;
  let base: string;
  let browser: Browser;
  let page: Page;
  const foreign: string[] = [];
  const problems: string[] = [];
  const sent: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const chain = await inProcessChain();
    const deployment = await deployWithDemoRoles(chain.signers[0]);
    database = await testDatabase();
    const config = loadConfig({ CHAIN_RPC_URL: "http://127.0.0.1:8545", ...testServiceEnv(), LOG_LEVEL: "error", ...database.settings, DEPLOYMENT: writeTempDeployment(deployment) });
    app = await createApp(config, { provider: chain.provider, demoAccounts: demoAccounts() });
    await app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    page = await context.newPage();
    page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith(base) && !url.startsWith("data:")) foreign.push(url);
      if (!url.includes("/docs")) sent.push(`${request.method()} ${url.slice(base.length)}`);
    });
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
  }, READY_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await app?.close();
    await database?.drop();
  });

  /** Expands an operation, runs Try it out with the given path parameters, and returns the status shown. */
  async function tryIt(operationId: string, params: Record<string, string> = {}): Promise<string> {
    const block = page.locator(`[id$="-${operationId}"]`).first();
    await block.locator(".opblock-summary").first().click();
    const tryOut = block.locator("button.try-out__btn");
    if ((await tryOut.count()) > 0 && (await tryOut.first().innerText()).includes("Try it out")) await tryOut.first().click();
    for (const [name, value] of Object.entries(params)) {
      await block.locator(`tr[data-param-name="${name}"] input`).fill(value);
    }
    await block.locator("button.execute").click();
    const status = block.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor({ timeout: SETTLE_TIMEOUT_MS });
    return (await status.innerText()).trim();
  }

  it("signs in with a demo account and fills Authorize: Try it out reaches the handlers", async () => {
    await page.goto(`${base}/docs`);
    const bar = page.locator("#consentry-sign-in");
    await bar.waitFor({ timeout: SETTLE_TIMEOUT_MS });
    await bar.locator("select").selectOption({ label: "Northside Lab (institution)" });
    await bar.getByRole("button", { name: "Sign in as demo account" }).click();
    await page.getByRole("status").filter({ hasText: "Signed in as Northside Lab (institution)" }).waitFor({ timeout: SETTLE_TIMEOUT_MS });
    await page.screenshot({ path: join(SCREENSHOTS, "signed-in.png") });

    expect(await tryIt("InstitutionsController_list")).toBe("200");
    // A path parameter is sent as given, not as the literal template.
    expect(await tryIt("ConsentsController_get", { id: "0x" + "ab".repeat(32) })).toBe("404");
    expect(await tryIt("PatientNonceController_nonce", { address: demoAccount("patient", 0).address })).toBe("200");
    await page.screenshot({ path: join(SCREENSHOTS, "try-it-out.png"), fullPage: false });
    expect(sent).toEqual(
      expect.arrayContaining(["POST /auth/challenge", "POST /auth/token", "GET /institutions", `GET /consents/0x${"ab".repeat(32)}`, `GET /patients/${demoAccount("patient", 0).address}/nonce`]),
    );
    expect(sent.some((s) => s.includes("{"))).toBe(false);
    expect(foreign).toEqual([]);
    expect(problems.filter((p) => /Content Security Policy|Refused/.test(p))).toEqual([]);
  });

  it("signs in with a browser wallet (EIP-1193 personal_sign)", async () => {
    const wallet = new Wallet(demoAccount("regulator").privateKey);
    const walletPage = await page.context().newPage();
    await walletPage.exposeFunction("__walletSign", (hex: string) => wallet.signMessage(getBytes(hex)));
    await walletPage.addInitScript((address: string) => {
      (globalThis as unknown as { ethereum: unknown }).ethereum = {
        request: async ({ method, params }: { method: string; params?: string[] }) => {
          if (method === "eth_requestAccounts") return [address];
          if (method === "personal_sign") return (globalThis as unknown as { __walletSign(hex: string): Promise<string> }).__walletSign(params![0]);
          throw new Error(`unsupported ${method}`);
        },
      };
    }, wallet.address);
    await walletPage.goto(`${base}/docs`);
    const bar = walletPage.locator("#consentry-sign-in");
    await bar.waitFor({ timeout: SETTLE_TIMEOUT_MS });
    await bar.getByRole("button", { name: "Sign in with a browser wallet" }).click();
    await walletPage.getByRole("status").filter({ hasText: `Signed in as ${wallet.address} (regulator)` }).waitFor({ timeout: SETTLE_TIMEOUT_MS });
    await walletPage.close();
  });
});
