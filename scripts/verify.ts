/**
 * The regulator's independent verifier (docs/architecture.md §6, docs/access-trail.md):
 *
 *   npm run verify -- --export trail.ndjson --rpc http://127.0.0.1:8545 --deployment deployments/dev.json
 *
 * Trusts only the export file, the chain and the deployment file. It imports nothing from service/:
 * a compromised service controls that code.
 */
import { existsSync } from "node:fs";
import { ChainReader } from "./verify/chain-reader";
import { parseArgs, USAGE, UsageError, type VerifyArgs } from "./verify/cli-args";
import { readDeploymentFile } from "./verify/deployment-file";
import { BreakGlassLog, buildReport, summary, writeReport } from "./verify/report";
import { verifyTrail, type VerifyResult } from "./verify/trail-verifier";

export async function main(argv: readonly string[]): Promise<number> {
  let args: VerifyArgs | "help";
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`verify: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }

  const started = performance.now();
  const breakGlass = new BreakGlassLog();
  let result: VerifyResult | null = null;
  let error: string | undefined;
  let chain: ChainReader | undefined;
  try {
    if (!existsSync(args.exportFile)) throw new Error(`export file ${args.exportFile} not found`);
    const deployment = readDeploymentFile(args.deploymentFile);
    chain = ChainReader.connect(args.rpcUrl, deployment);
    result = await verifyTrail({ exportFile: args.exportFile, chain, deployment, breakGlass });
  } catch (e) {
    error = describe(e);
  } finally {
    chain?.close();
  }
  const report = buildReport(args.exportFile, result, performance.now() - started, error);
  try {
    await writeReport(args.reportFile, report, breakGlass);
  } finally {
    breakGlass.dispose();
  }
  console.log(summary(report, args.reportFile));
  return error ? 2 : report.ok ? 0 : 1;
}

function describe(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string; code?: string };
  return e?.shortMessage ?? e?.message ?? String(error);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(2);
    },
  );
}
