import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { PROJECT_ROOT } from "../../service/paths";
import { STOP_DEADLINE_MS } from "../../service/shutdown";
import { walletOf } from "../support/actors";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { testDatabase, type TestDatabase } from "../support/database";
import { commandLine, descendants, isAlive, runCommand, runTs, type RunningProcess } from "../support/process";
import { pollUntil, READY_TIMEOUT_MS, testChainProvider } from "../support/ready";
import { testServiceEnv, writeTempDeployment } from "../support/service";
import { pgQuery } from "../support/trail-assertions";

/**
 * `npm start` and `npm run start:prod` (two cluster workers) stopped by a signal sent to the npm process
 * itself, as a process manager or a terminal does: requests in flight when the signal arrives finish with
 * their answers, every access answered is committed to the trail, each step is logged in one line without
 * personal data, the process exits 0 within the stop deadline, and no process of the tree is left behind.
 */

/** Requests held in flight across the signal: sent but for the last byte of their body. */
const HELD = 4;
/** Requests fired at the moment of the signal: answered 200, refused 503 (closing), or refused a connection. */
const BURST = 40;
const DECISION = { patient: demoAccount("patient", 0).address, categories: 1 << 3, purpose: "TREAT" };
const lab = walletOf("institution", 1);
const STOP_LINES = [
  /"Stopping"|Stopping workers/,
  /Stopped accepting connections; requests in flight finished/,
  /Access log flushed: every queued event committed/,
  /Background work stopped, leases released, connections closed/,
];

describe("graceful stop through npm", () => {

  // SIGTERM to npm, as a process manager sends it; SIGINT to the whole process group, as Ctrl-C in a terminal
  // does (npm and node both receive it, and npm forwards it once more: the second is ignored).
  const startCases: Array<{ signal: NodeJS.Signals; group: boolean; to: string }> = [
    { signal: "SIGTERM", group: false, to: "npm" },
    { signal: "SIGINT", group: true, to: "npm's process group (Ctrl-C)" },
  ];
  for (const { signal, group, to } of startCases) {
    (process.env.GRACEFUL_ONLY === "prod" ? it.skip : it)(
      `npm start: ${signal} to ${to} finishes requests in flight, commits every answered access, stops the chain, exits 0, leaves no process`,
      async () => {
        const started = Date.now();
        // A database of its own, read after the stack has stopped (PGlite on disk without TEST_DATABASE_URL).
        const database = await testDatabase({ persistent: true });
        const npm = runCommand(
          "npm",
          ["start"],
          { ...database.settings, PORT: "0", CHAIN_PORT: "0", SEED_DEMO: "0", LOG_LEVEL: "log", RATE_LIMIT_PER_MINUTE: "0" },
          { detached: group },
        );
        try {
          const [, api] = await npm.waitFor(/API\s+(http:\S+)/);
          const [, chainUrl] = await npm.waitFor(/Chain\s+(http:\S+)/);
          const ready = Date.now();
          // npm → node dist/scripts/dev.js (the npm script execs node: no shell in between to swallow the signal).
          const tree = descendants(npm.child.pid!);
          expect(tree.map(commandLine).some((c) => c.includes("dist/scripts/dev.js"))).toBe(true);
          expect(tree.map(commandLine).some((c) => /^(\/bin\/)?sh /.test(c))).toBe(false);

          const outcome = await stopUnderLoad(npm, api, signal, group);
          expect(npm.stdout()).toMatch(/Local chain stopped/);
          // One stop, however many signals arrived.
          expect(npm.stdout().match(/"message":"Stopping"/g)).toHaveLength(1);
          await expect(fetch(chainUrl, { method: "POST", body: "{}" })).rejects.toThrow();
          await expectAllGone([npm.child.pid!, ...tree]);
          expect(await committedBy(database, lab.address)).toBe(outcome.answered);
          console.log(`npm start (${signal} to ${to}): ready in ${ready - started} ms, stopped in ${outcome.stopMs} ms (${outcome.answered} accesses answered, ${outcome.inFlight} in flight at the signal)`);
        } finally {
          killTree(npm);
          await npm.exited;
          await database.drop();
        }
      },
      READY_TIMEOUT_MS + 120_000,
    );
  }

  (process.env.TEST_DATABASE_URL ? describe : describe.skip)("npm run start:prod with two workers (PostgreSQL)", () => {
    let chain: RunningProcess;
    let chainUrl: string;
    let deployment: Deployment;
    let prodDatabase: TestDatabase;

    beforeAll(async () => {
      // start:prod runs the build in dist/; compile it here (types are checked by npm run lint, not here).
      const build = promisify(execFile)(process.execPath, [join(PROJECT_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--noCheck"], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NODE_OPTIONS: "" },
      });
      // Built before the chain starts: compiling starves a chain of CPU on a loaded machine.
      await build;
      chain = runTs("test/support/chain-node.ts");
      [, chainUrl] = await chain.waitFor(/CHAIN (\S+)/);
      const provider = testChainProvider(chainUrl);
      deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, provider));
      provider.destroy();
      prodDatabase = await testDatabase();
      expect(existsSync(join(PROJECT_ROOT, "dist/service/main.js"))).toBe(true);
    }, READY_TIMEOUT_MS);

    afterAll(async () => {
      chain?.child.kill("SIGKILL");
      await prodDatabase?.drop();
    });

    it(
      "SIGINT to npm stops both workers gracefully: requests in flight finish, answered accesses committed, exit 0, no process left",
      async () => {
        const npm = runCommand("npm", ["run", "start:prod"], {
          ...testServiceEnv(),
          ...prodDatabase.settings,
          CHAIN_RPC_URL: chainUrl,
          DEPLOYMENT: writeTempDeployment(deployment),
          PORT: "0",
          HOST: "127.0.0.1",
          WEB_CONCURRENCY: "2",
          LOG_LEVEL: "log",
        });
        try {
          await npm.waitFor(/"message":"Listening"[^\n]*\n[^]*"message":"Listening"/);
          const [, api] = npm.stdout().match(/"message":"Listening","url":"([^"]+)"/)!;
          // npm → the supervisor → two workers.
          const tree = descendants(npm.child.pid!);
          expect(tree.map(commandLine).filter((c) => c.includes("dist/service/main.js"))).toHaveLength(3);

          const outcome = await stopUnderLoad(npm, api, "SIGINT");
          // Each worker stopped in its own lines; between them they held every request in flight.
          const finished = [...npm.stdout().matchAll(/Stopped accepting connections; requests in flight finished[^\n]*"inFlight":(\d+)/g)];
          expect(finished).toHaveLength(2);
          expect(finished.reduce((sum, m) => sum + Number(m[1]), 0)).toBeGreaterThanOrEqual(HELD);
          expect(npm.stdout().match(/"message":"Worker stopped"[^\n]*"code":0/g)).toHaveLength(2);
          expect(npm.stdout()).toMatch(/"context":"Supervisor","message":"Stopped","exitCode":0/);
          await expectAllGone([npm.child.pid!, ...tree]);
          expect(await committedBy(prodDatabase, lab.address)).toBe(outcome.answered);
          console.log(`start:prod (2 workers): stopped in ${outcome.stopMs} ms (${outcome.answered} accesses answered, ${outcome.inFlight} in flight at the signal)`);
        } finally {
          killTree(npm);
        }
      },
      READY_TIMEOUT_MS + 120_000,
    );
  });
});

/**
 * Signs in, holds HELD requests in flight, fires a burst, signals npm, and checks: the service stops accepting
 * new connections while the held requests are still open, each held request is then answered 200, npm exits 0
 * within the deadline, and the stop is logged step by step without personal data.
 */
async function stopUnderLoad(npm: RunningProcess, api: string, signal: NodeJS.Signals, group = false) {
  const auth = await signIn(api, lab);
  const decide = () =>
    fetch(`${api}/consent-decisions`, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify(DECISION) }).then(
      async (res) => (await res.text(), res.status),
      () => 0,
    );
  const warm = await Promise.all(Array.from({ length: 5 }, decide));
  expect(warm).toEqual([200, 200, 200, 200, 200]);
  const held = await Promise.all(Array.from({ length: HELD }, () => holdRequest(api, "/consent-decisions", DECISION, auth)));
  // Answered on another connection after the held ones were sent: the service has read their headers.
  expect(await decide()).toBe(200);

  const burst = Array.from({ length: BURST }, decide);
  const signalledAt = Date.now();
  process.kill(group ? -npm.child.pid! : npm.child.pid!, signal);
  await npm.waitFor(STOP_LINES[0], 30_000);
  // Stops accepting: a new connection is refused while the held requests are still open.
  await pollUntil("new connections to be refused", async () => (await tcpConnects(api)) === false, { timeoutMs: 20_000, stepMs: 50 });
  expect(held.every((h) => h.open())).toBe(true);
  const answers = await Promise.all(held.map((h) => h.finish()));
  expect(answers.map((a) => a.status)).toEqual(Array(HELD).fill(200));
  for (const a of answers) expect(JSON.parse(a.body)).toMatchObject({ decision: expect.any(String) });
  const statuses = await Promise.all(burst);
  expect(statuses.every((s) => s === 200 || s === 503 || s === 0)).toBe(true);

  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([npm.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), STOP_DEADLINE_MS + 10_000)))]);
  clearTimeout(timer);
  const stopMs = Date.now() - signalledAt;
  if (exit?.code !== 0) console.log(`exit ${JSON.stringify(exit)}\n${npm.stdout().slice(-6000)}\n--- stderr\n${npm.stderr().slice(-4000)}`);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(stopMs).toBeLessThan(STOP_DEADLINE_MS);

  const out = npm.stdout();
  for (const line of STOP_LINES) expect(out).toMatch(line);
  expect(out).toMatch(/"Stopped","exitCode":0/);
  const leases = out.match(/Background work stopped, leases released[^\n]*/g)!.join("\n");
  for (const name of ["indexer:", "anchorer:", "trail-monitor:"]) expect(leases).toContain(name);
  // One line a step, none naming a patient, an institution or a token.
  const stopLines = out.split("\n").filter((l) => /Stopping|Stopped|flushed|leases released|chain stopped/.test(l));
  for (const line of stopLines) {
    expect(line.toLowerCase()).not.toContain(DECISION.patient.toLowerCase());
    expect(line.toLowerCase()).not.toContain(lab.address.toLowerCase());
    expect(line).not.toContain(auth.slice("Bearer ".length, "Bearer ".length + 20));
  }
  expect(npm.stderr()).not.toMatch(/npm error|Stop failed|overran/);
  const inFlight = Number(/requests in flight finished[^\n]*"inFlight":(\d+)/.exec(out)?.[1] ?? -1);
  return { answered: warm.length + 1 + HELD + statuses.filter((s) => s === 200).length, stopMs, inFlight };
}

async function signIn(api: string, wallet: Wallet): Promise<string> {
  const post = (path: string, body: unknown) =>
    fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, string>>);
  const { message } = await post("/auth/challenge", { address: wallet.address });
  const { accessToken } = await post("/auth/token", { message, signature: await wallet.signMessage(message) });
  return `Bearer ${accessToken}`;
}

/** A POST sent but for the last byte of its body: in flight at the service until `finish()`. */
async function holdRequest(api: string, path: string, body: unknown, authorization: string) {
  const { hostname, port } = new URL(api);
  const payload = Buffer.from(JSON.stringify(body));
  const socket = connect(Number(port), hostname);
  let response = "";
  let closed = false;
  socket.on("data", (chunk) => (response += chunk));
  const ended = new Promise<void>((resolve) => socket.once("close", () => ((closed = true), resolve())));
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nAuthorization: ${authorization}\r\n` +
    `Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n`;
  await new Promise<void>((resolve) => socket.write(Buffer.concat([Buffer.from(head), payload.subarray(0, -1)]), () => resolve()));
  return {
    open: () => !closed && response === "",
    async finish(): Promise<{ status: number; body: string }> {
      socket.write(payload.subarray(-1));
      await ended;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
      const text = response.slice(response.indexOf("\r\n\r\n") + 4);
      // Connection: close answers are not chunked unless the service streams: a JSON body is sent whole.
      return { status, body: /^[0-9a-f]+\r\n/.test(text) ? text.replace(/^[0-9a-f]+\r\n/, "").replace(/\r\n0\r\n\r\n$/, "") : text };
    },
  };
}

/** Whether a TCP connection to the API's port is accepted now. */
function tcpConnects(api: string): Promise<boolean> {
  const { hostname, port } = new URL(api);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Every process of the tree has exited (orphans re-parented to init would still run). */
async function expectAllGone(pids: number[]): Promise<void> {
  await pollUntil("every process of the tree to exit", () => pids.every((pid) => !isAlive(pid)), { timeoutMs: 10_000 }).catch(() => undefined);
  expect(pids.filter(isAlive).map((pid) => `${pid} ${commandLine(pid)}`)).toEqual([]);
}

/** Access events the caller `actor` has in the trail, read from the database after the service stopped. */
async function committedBy(database: TestDatabase, actor: string): Promise<number> {
  const sql = "SELECT count(*)::int AS n FROM access_events WHERE actor = $1";
  if (database.settings.DATABASE_URL) return (await pgQuery<{ n: number }>(database.settings.DATABASE_URL, sql, [actor.toLowerCase()]))[0].n;
  const { PGlite } = await import("@electric-sql/pglite");
  const dir = database.settings.PGLITE_DATA_DIR!;
  const db = new PGlite(dir);
  try {
    return (await db.query<{ n: number }>(sql, [actor.toLowerCase()])).rows[0].n;
  } finally {
    await db.close();
  }
}

/** Test cleanup only: whatever still runs of the tree is killed (the assertions above say whether any did). */
function killTree(proc: RunningProcess): void {
  if (!proc.child.pid) return;
  for (const pid of [...descendants(proc.child.pid), proc.child.pid]) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}
