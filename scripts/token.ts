/**
 * `npm run token -- --as "Northside Lab" [--api URL]`: signs in as a demo account against a running
 * `npm start` — the same EIP-4361 challenge, personal_sign and token exchange any client makes, over HTTP —
 * and prints the bearer token on stdout (nothing else), so that
 *
 *   curl -H "authorization: Bearer $(npm run -s token -- --as "Northside Lab")" http://127.0.0.1:3000/institutions
 *
 * works. `--as` takes a demo account's name or role (case-insensitive: "Northside Lab", "patient Alice",
 * "regulator", "admin"). The API defaults to CONSENTRY_API, else http://127.0.0.1:$PORT (PORT defaults to 3000).
 * The demo keys are Hardhat's public development keys: the token is only worth anything on the dev stack.
 */
import { Wallet } from "ethers";
import { demoAccounts, type DemoAccount } from "./lib/demo-accounts";

export function pickDemoAccount(who: string): DemoAccount {
  const wanted = who.trim().toLowerCase();
  const accounts = demoAccounts();
  const match =
    accounts.find((a) => a.name.toLowerCase() === wanted) ??
    accounts.find((a) => a.name.toLowerCase().replace(/^patient /, "") === wanted) ??
    accounts.find((a) => a.role === wanted) ??
    accounts.find((a) => a.address.toLowerCase() === wanted);
  if (!match) {
    throw new Error(`No demo account "${who}". Known: ${accounts.map((a) => `"${a.name}"`).join(", ")} (or a role: ${[...new Set(accounts.map((a) => a.role))].join(", ")})`);
  }
  return match;
}

/** Signs in at `api` as `account` and returns the access token and the roles the chain gives it. */
export async function demoToken(api: string, account: Pick<DemoAccount, "privateKey">): Promise<{ accessToken: string; roles: string[]; expiresAt: string }> {
  const post = async (path: string, body: object) => {
    let response: Response;
    try {
      response = await fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    } catch {
      throw new Error(`Nothing answers at ${api}: start the stack with \`npm start\` (or pass --api URL)`);
    }
    const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${String(json.detail ?? json.title ?? "")}`);
    return json;
  };
  const wallet = new Wallet(account.privateKey);
  const { message } = (await post("/auth/challenge", { address: wallet.address })) as { message: string };
  const token = await post("/auth/token", { message, signature: await wallet.signMessage(message) });
  return token as unknown as { accessToken: string; roles: string[]; expiresAt: string };
}

function argument(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const who = argument(args, "--as");
  if (!who) throw new Error('Usage: npm run token -- --as "Northside Lab" [--api http://127.0.0.1:3000]');
  const api = (argument(args, "--api") ?? process.env.CONSENTRY_API ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`).replace(/\/+$/, "");
  const account = pickDemoAccount(who);
  const token = await demoToken(api, account);
  process.stdout.write(token.accessToken + "\n");
  process.stderr.write(`${account.name} (${account.address}), roles: ${token.roles.join(", ") || "none"}; valid until ${token.expiresAt}\n`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`token: ${error.message}\n`);
    process.exit(1);
  });
}
