import { api } from "./api";
import type { Code } from "./vocabulary";

export interface TypedField {
  name: string;
  type: string;
}

/** GET /.well-known/consentry: the chain, contracts, EIP-712 domain and types, and the vocabulary. */
export interface WellKnown {
  chainId: number;
  network?: string;
  contracts: { ConsentRegistry: string; AccessLedger: string };
  eip712: {
    domain: { name: string; version: string; chainId: number; verifyingContract: string };
    types: Record<string, TypedField[]>;
  };
  categories: { codes: Code[] };
  purposes: { codes: Code[] };
}

export interface DemoAccount {
  name: string;
  role: string;
  address: string;
  privateKey: string;
}

/** GET /console/config: whether the service runs as the dev stack, and where a browser may read the chain. */
export interface ConsoleConfig {
  dev: boolean;
  chain: { chainId: number; rpcUrl: string | null };
  demoAccounts: DemoAccount[];
}

export interface Context {
  wellKnown: WellKnown;
  config: ConsoleConfig;
}

let loaded: Promise<Context> | undefined;

export function context(): Promise<Context> {
  loaded ??= Promise.all([api<WellKnown>("/.well-known/consentry", { auth: false }), api<ConsoleConfig>("/console/config", { auth: false })]).then(
    ([wellKnown, config]) => ({ wellKnown, config }),
  );
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

export const ACTION_LABELS: Record<string, string> = {
  "record.read": "read a record",
  "record.search": "searched records",
  "record.write": "wrote a record",
  "consent.decision": "asked for a consent decision",
  "consent.grant": "granted a consent",
  "consent.revoke": "revoked a consent",
  "patient.erase": "erased the patient's data",
};

export const DECISION_LABELS: Record<string, { text: string; tone: "ok" | "bad" | "warn" | "neutral"; released: boolean }> = {
  permit: { text: "permitted", tone: "ok", released: true },
  self: { text: "permitted (own data)", tone: "ok", released: true },
  "break-glass": { text: "permitted: emergency access", tone: "warn", released: true },
  "no-consent": { text: "refused: no consent", tone: "bad", released: false },
  deny: { text: "refused: denied by consent", tone: "bad", released: false },
  unavailable: { text: "refused: consent state unavailable", tone: "bad", released: false },
  rejected: { text: "refused: invalid request", tone: "bad", released: false },
  recorded: { text: "recorded", tone: "neutral", released: false },
};

export function categoryLabel(ctx: Context, code: string): string {
  return ctx.wellKnown.categories.codes.find((c) => c.code === code)?.display ?? code;
}

export function purposeLabel(ctx: Context, code: string): string {
  const purpose = ctx.wellKnown.purposes.codes.find((p) => p.code === code);
  return purpose ? `${purpose.display} (${purpose.code})` : code;
}

export function maskOf(codes: readonly string[], table: readonly Code[]): bigint {
  let mask = 0n;
  for (const code of codes) {
    const entry = table.find((c) => c.code === code);
    if (!entry) throw new Error(`unknown code ${code}`);
    mask |= 1n << BigInt(entry.bit);
  }
  return mask;
}

export function codesOf(mask: number, table: readonly Code[]): string[] {
  return table.filter((c) => mask & c.mask).map((c) => c.code);
}
