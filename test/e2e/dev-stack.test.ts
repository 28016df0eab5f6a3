import { Wallet } from "ethers";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../../service/paths";
import { readFileSync } from "node:fs";
import { writeTempDeployment } from "../support/service";
import { isAlive, runTs, type RunningProcess } from "../support/process";
import { httpReady, SETTLE_TIMEOUT_MS } from "../support/ready";

const SECRETS = { JWT_SECRET: "e2e-secret-e2e-secret-e2e-secret-00", MASTER_KEY: "33".repeat(32) };

/** The embedded stack `npm start` runs, as a real process with real ports. */
describe("dev stack (npm start)", () => {
  let stack: RunningProcess;
  let api: string;
  let chainUrl: string;

  beforeAll(async () => {
    stack = runTs("scripts/dev.ts", { PORT: "0", CHAIN_PORT: "0", LOG_LEVEL: "warn" });
    [, api] = await stack.waitFor(/API\s+(http:\S+)/);
    [, chainUrl] = await stack.waitFor(/Chain\s+(http:\S+)/);
  });

  afterAll(async () => {
    if (stack.child.exitCode === null) stack.child.kill("SIGKILL");
  });

  it("prints the URLs and the demo accounts", () => {
    const out = stack.stdout();
    expect(out).toMatch(/OpenAPI\s+http:\S+\/docs/);
    for (const role of ["admin", "relayer", "anchorer", "institution", "regulator", "patient"]) {
      expect(out).toMatch(new RegExp(`\\n\\s+${role}\\s+.+0x[0-9a-fA-F]{40}`));
    }
  });

  it("seeds demo data through the API, ready to try", () => {
    expect(stack.stdout()).toMatch(/Alice \(0x[0-9a-fA-F]{40}\) is enrolled at St Mary's Hospital with \d+ Synthea records/);
    expect(stack.stdout()).toMatch(/consent 0x[0-9a-f]{64}/);
  });

  it("answers /health with 200 and serves /docs", async () => {
    // Readiness includes the consent indexer's first poll, which follows start-up by a moment.
    const health = await httpReady(`${api}/health`, { timeoutMs: SETTLE_TIMEOUT_MS });
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", chain: { ok: true, chainId: 31337 } });
    const docs = await fetch(`${api}/docs`);
    expect(docs.status).toBe(200);
  });

  it("refuses to start the service against a deployment for another chain id, in one line", async () => {
    const deployment = JSON.parse(readFileSync(/Deployment\s+(\S+)/.exec(stack.stdout())![1], "utf8"));
    const service = runTs("service/main.ts", {
      CHAIN_RPC_URL: chainUrl,
      DEPLOYMENT: writeTempDeployment({ ...deployment, chainId: 5 }),
      PORT: "0",
      ...SECRETS,
    });
    const { code } = await service.exited;
    expect(code).not.toBe(0);
    expect(service.stderr().trim().split("\n")).toEqual([
      "consentry: The chain has chainId 31337 but the deployment file is for chainId 5",
    ]);
  });

  it("refuses to start the service against a chain without the contracts, in one line", async () => {
    const deployment = JSON.parse(readFileSync(/Deployment\s+(\S+)/.exec(stack.stdout())![1], "utf8"));
    const missing = Wallet.createRandom().address;
    deployment.contracts.ConsentRegistry.address = missing;
    const service = runTs("service/main.ts", { CHAIN_RPC_URL: chainUrl, DEPLOYMENT: writeTempDeployment(deployment), PORT: "0", ...SECRETS });
    const { code } = await service.exited;
    expect(code).not.toBe(0);
    expect(service.stderr().trim().split("\n")).toEqual([
      `consentry: No ConsentRegistry contract at ${missing} on chain 31337: deploy it with \`npm run deploy\``,
    ]);
  });

  it("refuses a missing secret in one line naming it", async () => {
    const service = runTs("service/main.ts", { CHAIN_RPC_URL: chainUrl, DEPLOYMENT: "x.json", JWT_SECRET: SECRETS.JWT_SECRET, MASTER_KEY: "" });
    const { code } = await service.exited;
    expect(code).not.toBe(0);
    expect(service.stderr().trim().split("\n")).toEqual(["consentry: Invalid configuration: MASTER_KEY is required"]);
  });

  it("refuses a wrong setting in one line naming it", async () => {
    const service = runTs("service/main.ts", { CHAIN_RPC_URL: chainUrl, DEPLOYMENT: "x.json", PORT: "not-a-port" });
    const { code } = await service.exited;
    expect(code).not.toBe(0);
    expect(service.stderr().trim().split("\n")).toEqual(["consentry: Invalid configuration: PORT must be an integer number"]);
  });

  it("ends its output with the banner, which says how to act as a demo account", () => {
    const out = stack.stdout();
    expect(out.trimEnd().endsWith("Ctrl-C stops everything.")).toBe(true);
    expect(out).toContain('npm run token -- --as "Northside Lab"');
    expect(out).toMatch(/Portal\s+http:\S+\/docs: Sign in with a demo account/);
    expect(out).not.toContain("Mapped {");
  });

  it("prints a demo account's token with npm run token, which shows the named institutions", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/token.ts", "--as", "Northside Lab", "--api", api], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    const token = stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const directory = (await (await fetch(`${api}/institutions`, { headers: { authorization: `Bearer ${token}` } })).json()) as { institutions: unknown[] };
    expect(directory.institutions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ address: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", name: "Northside Lab", holdsRole: true }),
        expect.objectContaining({ name: "St Mary's Hospital", holdsRole: true }),
      ]),
    );
  });

  it("stops everything on SIGTERM", async () => {
    const pid = stack.child.pid!;
    stack.child.kill("SIGTERM");
    const { code } = await stack.exited;
    expect(code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    await expect(fetch(`${api}/health`)).rejects.toThrow();
    await expect(fetch(chainUrl, { method: "POST", body: "{}" })).rejects.toThrow();
  });
});
