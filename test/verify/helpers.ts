/** Shared by the verifier's tests: running the verifier (in process or as the CLI) and editing exports. */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ChainReader } from "../../scripts/verify/chain-reader";
import { readDeploymentFile } from "../../scripts/verify/deployment-file";
import { Keccak } from "../../scripts/verify/keccak";
import { LeafEncoder, leafHash } from "../../scripts/verify/leaf";
import { bytesHex } from "../../scripts/verify/merkle";
import { BreakGlassLog } from "../../scripts/verify/report";
import { verifyTrail, type VerifyOptions, type VerifyResult } from "../../scripts/verify/trail-verifier";
import { leafFieldsOf, type TrailWorld } from "../support/trail-fixture";

export const ROOT = resolve(__dirname, "../..");

export const tempDir = () => mkdtempSync(join(tmpdir(), "consentry-verify-test-"));

/** The verifier's core, in this process: the same code the CLI runs, minus process start-up. */
export async function verifyInProcess(world: TrailWorld, exportFile: string, options: Pick<VerifyOptions, "window"> = {}): Promise<VerifyResult & { breakGlass: BreakGlassLog }> {
  const deployment = readDeploymentFile(world.deploymentFile);
  const chain = ChainReader.connect(world.url, deployment);
  const breakGlass = new BreakGlassLog();
  try {
    return { ...(await verifyTrail({ exportFile, chain, deployment, breakGlass, ...options })), breakGlass };
  } finally {
    chain.close();
    breakGlass.dispose();
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From /usr/bin/time -v when `measure` was set. */
  maxRssKB?: number;
}

/** Runs the verifier from its source (ts-node, transpile only; `npm run verify` runs the same code bundled), optionally under /usr/bin/time -v. */
export function runVerifyCli(args: string[], options: { measure?: boolean; nodeFlags?: string[] } = {}): Promise<CliRun> {
  const node = [process.execPath, ...(options.nodeFlags ?? []), "-r", "ts-node/register/transpile-only", "scripts/verify.ts", ...args];
  const [command, ...rest] = options.measure ? ["/usr/bin/time", "-v", ...node] : node;
  const child = spawn(command, rest, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: "" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  return new Promise((resolvePromise) =>
    child.once("close", (code) => {
      const rss = stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
      resolvePromise({ code, stdout, stderr, ...(rss ? { maxRssKB: Number(rss[1]) } : {}) });
    }),
  );
}

export type Line = Record<string, unknown> & { kind: string };

export const readLines = (file: string): Line[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Line);

export function writeLines(file: string, lines: Array<Line | string>): string {
  writeFileSync(file, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
  return file;
}

export const indexOfSeq = (lines: Line[], seq: number) => lines.findIndex((l) => l.kind === "event" && l.seq === seq);

/** Recomputes an edited event's leaf, as a forger who knows the format would. A line without `format` is format 1 (export version 1). */
export async function withRecomputedLeaf(event: Line): Promise<Line> {
  const keccak = await Keccak.create();
  const e = event as unknown as { format?: 1 | 2; seq: number; id: string; time: number; actor: string; requester?: string; patient: string; action: number; categories: string; purposes: string; decision: number; consentId: string; requestHash: string; prevHash: string };
  const fields = leafFieldsOf({ ...e, format: e.format ?? 1, categories: BigInt(e.categories), purposes: BigInt(e.purposes) });
  return { ...event, leaf: bytesHex(leafHash(keccak, new LeafEncoder(), fields)) };
}
