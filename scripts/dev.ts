/**
 * `npm start`: the whole stack on embedded defaults — a local Hardhat chain, the contracts deployed with
 * roles for the demo accounts, PGlite, and the service on PORT (default 3000). Ctrl-C, SIGTERM or SIGINT
 * (to this process, or to the npm that started it: npm forwards them, and the npm script `exec`s node so no
 * shell stands in between) stops everything, which all lives in this one process, gracefully and in one
 * line per step: the service stops accepting and finishes its requests in flight, flushes the access log,
 * releases its leases and closes; then the chain stops; then the process exits 0.
 *
 * Set CHAIN_RPC_URL to use an external Hardhat node instead of the built-in one, DATABASE_URL to use
 * PostgreSQL instead of PGlite.
 */
import { randomBytes } from "node:crypto";
import { Wallet } from "ethers";
import { Logger } from "@nestjs/common";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import { createApp } from "../service/app";
import { createRpcProvider } from "../service/chain/rpc-provider";
import { loadConfig } from "../service/config/app-config";
import { onStopSignals, stopService, trackRequestsInFlight } from "../service/shutdown";
import { deployContracts } from "./lib/deploy-contracts";
import { startLocalChain } from "./lib/local-chain";
import { nameDemoInstitutions, seedDemo } from "./lib/seed-demo";
import { demoAccount, demoAccounts } from "./lib/demo-accounts";
import { deploymentFile, writeDeployment } from "./deploy";

const DEFAULT_CHAIN_PORT = 8545;

interface Stoppable {
  close(): Promise<unknown>;
}

const logger = new Logger("Shutdown");

async function main(): Promise<void> {
  // Stopped last first: the service (gracefully, once it listens), then the chain.
  const stoppers: Stoppable[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const s of [...stoppers].reverse()) await s.close();
    })());
  // SIGTERM/SIGINT: stop everything, exit 0 (1 if a step fails or overruns the deadline).
  onStopSignals(stopAll);

  try {
    const chainUrl = process.env.CHAIN_RPC_URL ?? (await startChain(stoppers));
    const provider = createRpcProvider(chainUrl, Number(await createRpcProvider(chainUrl, 0).send("eth_chainId", [])));
    const admin = new Wallet(demoAccount("admin").privateKey, provider);
    const { deployment } = await deployContracts(admin, "dev", {
      relayers: [demoAccount("relayer").address],
      anchorers: [demoAccount("anchorer").address],
      institutions: [demoAccount("institution", 0).address, demoAccount("institution", 1).address],
      regulators: [demoAccount("regulator").address],
      // The admin registers by hand; the service registers through POST /institutions with its own key.
      registrars: [demoAccount("admin").address, demoAccount("registrar").address],
    });
    const file = deploymentFile("dev");
    writeDeployment(file, deployment);
    provider.destroy();

    const config = loadConfig({
      // Ephemeral secrets: the dev chain and the in-memory database vanish with the process anyway.
      JWT_SECRET: randomBytes(32).toString("hex"),
      MASTER_KEY: randomBytes(32).toString("hex"),
      RELAYER_PRIVATE_KEY: demoAccount("relayer").privateKey,
      ANCHORER_PRIVATE_KEY: demoAccount("anchorer").privateKey,
      REGISTRAR_PRIVATE_KEY: demoAccount("registrar").privateKey,
      // The web console on this machine reads anchored roots from the chain itself.
      ...(/^https?:/.test(chainUrl) ? { PUBLIC_CHAIN_RPC_URL: chainUrl } : {}),
      ...process.env,
      CHAIN_RPC_URL: chainUrl,
      DEPLOYMENT: file,
    });
    // The demo is seeded through the API (hundreds of records at once); the rate limit applies from then on.
    let seeding = true;
    // The console offers the demo accounts to sign in with: only here, never in `npm run start:prod`.
    const app: NestFastifyApplication = await createApp(config, { rateLimitExempt: () => seeding, demoAccounts: demoAccounts() });
    const inFlight = trackRequestsInFlight(app);
    stoppers.push({ close: () => stopService(app, inFlight) });
    await app.listen({ port: config.PORT, host: config.HOST });
    await nameDemoInstitutions(app);
    const seeded = process.env.SEED_DEMO === "0" ? [] : await seedDemo(app, deployment);
    seeding = false;
    // The seeded accesses are anchored within a batch period: let that happen before the banner, which comes last.
    await anchoringSettled(app);
    const { port } = app.getHttpServer().address() as { port: number };
    const base = `http://${config.HOST === "0.0.0.0" ? "127.0.0.1" : config.HOST}:${port}`;
    printSummary(base, chainUrl, deployment.chainId, file, config.DATABASE_URL ? "PostgreSQL (DATABASE_URL)" : "PGlite (in memory)", seeded);
  } catch (error) {
    // Stopped by a signal while starting: the signal's stop ends the process.
    if (stopping) return;
    console.error(`consentry: ${(error as Error).message.split("\n")[0]}`);
    await stopAll().catch(() => undefined);
    process.exit(1);
  }
}

/** Waits (at most a few seconds) until every access event is in a confirmed batch, as /health reports it. */
async function anchoringSettled(app: NestFastifyApplication, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await app.getHttpAdapter().getInstance().inject({ method: "GET", url: "/health" });
    const anchoring = (JSON.parse(res.body) as { anchoring?: { unconfirmedBatches?: number; unbatchedEvents?: number } }).anchoring;
    if (anchoring?.unconfirmedBatches === 0 && anchoring.unbatchedEvents === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function startChain(stoppers: Stoppable[]): Promise<string> {
  const chain = await startLocalChain(Number(process.env.CHAIN_PORT ?? DEFAULT_CHAIN_PORT));
  stoppers.push({
    close: async () => {
      await chain.close();
      logger.log({ message: "Local chain stopped" });
    },
  });
  return chain.url;
}

function printSummary(base: string, chainUrl: string, chainId: number, deployment: string, database: string, seeded: string[]): void {
  // npm run token signs in at http://127.0.0.1:3000 unless told otherwise.
  const tokenApi = base === "http://127.0.0.1:3000" ? "" : ` --api ${base}`;
  const lines = [
    "",
    "Consentry is running",
    `  Console      ${base}/  (patient, institution and regulator views; sign in with a demo account below)`,
    `  API          ${base}`,
    `  OpenAPI      ${base}/docs`,
    `  Health       ${base}/health`,
    `  Chain        ${chainUrl} (chainId ${chainId})`,
    `  Deployment   ${deployment}`,
    `  Database     ${database}`,
    "",
    "Demo accounts (Hardhat's public dev keys: never use them on a real network)",
    ...demoAccounts().map((a) => `  ${a.role.padEnd(12)} ${a.name.padEnd(24)} ${a.address}  ${a.privateKey}`),
    "",
    "Act as a demo account",
    `  Portal       ${base}/docs: Sign in with a demo account (or a browser wallet); Authorize is filled in`,
    `  Token        npm run token -- --as "Northside Lab"${tokenApi}   (any name or role above; prints a bearer token)`,
    `  e.g.         curl -H "authorization: Bearer $(npm run -s token -- --as "Northside Lab"${tokenApi})" ${base}/institutions`,
    "",
    ...(seeded.length ? ["Demo data (SEED_DEMO=0 skips it)", ...seeded.map((line) => `  ${line}`), ""] : []),
    "Ctrl-C stops everything.",
    "",
  ];
  console.log(lines.join("\n"));
}

void main();
