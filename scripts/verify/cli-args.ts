/** Command-line arguments of `npm run verify`. */
export interface VerifyArgs {
  exportFile: string;
  rpcUrl: string;
  deploymentFile: string;
  reportFile: string;
}

export const USAGE = `Usage: npm run verify -- --export FILE --rpc URL --deployment FILE [--report FILE]

Verifies an access-trail export (NDJSON, docs/access-trail.md) against the chain alone:
leaves (trail formats 1 and 2), sequence, hash links, inclusion proofs against on-chain
batch roots, the export's time range, and every permit and deny against the on-chain
consents of its requester at that moment. Break-glass accesses are listed.

  --export FILE       the export from GET /audit/export
  --rpc URL           a JSON-RPC endpoint of the chain (default: $CHAIN_RPC_URL)
  --deployment FILE   deployments/<network>.json
  --report FILE       where to write the JSON report (default: verify-report.json)

Exit code: 0 verified, 1 the trail failed a check (the report names the first bad event),
2 verification could not run (bad arguments, unreadable file, chain unreachable).`;

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): VerifyArgs | "help" {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return "help";
    const eq = arg.indexOf("=");
    const [name, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!["--export", "--rpc", "--deployment", "--report"].includes(name)) throw new UsageError(`unknown argument ${arg}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new UsageError(`${name} needs a value`);
    values[name] = value;
  }
  const rpcUrl = values["--rpc"] ?? env.CHAIN_RPC_URL;
  if (!values["--export"]) throw new UsageError("--export is required");
  if (!rpcUrl) throw new UsageError("--rpc is required (or set CHAIN_RPC_URL)");
  if (!values["--deployment"]) throw new UsageError("--deployment is required");
  return {
    exportFile: values["--export"],
    rpcUrl,
    deploymentFile: values["--deployment"],
    reportFile: values["--report"] ?? "verify-report.json",
  };
}
