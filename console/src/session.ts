import { getAddress, hexlify, toUtf8Bytes, Wallet } from "ethers";
import { api, ApiError, setToken, whenUnauthorized } from "./api";
import type { Context, TypedField } from "./context";

/** Whoever signs for the signed-in account: a browser wallet (EIP-1193), a key kept in this browser, or a demo key. */
export interface Signer {
  kind: "wallet" | "browser-key" | "demo";
  address: string;
  label: string;
  signMessage(message: string): Promise<string>;
  signTypedData(domain: Record<string, unknown>, types: Record<string, TypedField[]>, primaryType: string, value: Record<string, unknown>): Promise<string>;
}

export interface Session {
  address: string;
  roles: string[];
  expiresAt: string;
  token: string;
  signer: Signer | null;
}

interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

declare global {
  interface Window {
    ethereum?: Eip1193;
  }
}

const SESSION_KEY = "consentry.session";
const BROWSER_KEY = "consentry.browser-key";

let current: Session | null = null;
const listeners = new Set<(session: Session | null) => void>();

export const session = (): Session | null => current;

export function onSessionChange(listener: (session: Session | null) => void): void {
  listeners.add(listener);
}

function setSession(next: Session | null): void {
  current = next;
  setToken(next?.token);
  if (next) sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...next, signer: next.signer ? { kind: next.signer.kind } : null }));
  else sessionStorage.removeItem(SESSION_KEY);
  listeners.forEach((l) => l(next));
}

whenUnauthorized(() => {
  if (current) setSession(null);
});

export const hasWallet = (): boolean => typeof window.ethereum?.request === "function";

/** A key held by this page (a demo key, or one the user created or pasted). */
export function keySigner(privateKey: string, kind: "browser-key" | "demo", label: string): Signer {
  const wallet = new Wallet(privateKey);
  return {
    kind,
    address: wallet.address,
    label,
    signMessage: (message) => wallet.signMessage(message),
    signTypedData: (domain, types, primaryType, value) => wallet.signTypedData(domain, { [primaryType]: types[primaryType] }, value),
  };
}

/** The browser wallet's selected account (asks the user to connect it). */
export async function walletSigner(ctx: Context): Promise<Signer> {
  const ethereum = window.ethereum;
  if (!ethereum) throw new Error("No browser wallet found (window.ethereum)");
  const accounts = (await ethereum.request({ method: "eth_requestAccounts" })) as string[];
  if (!accounts?.[0]) throw new Error("The wallet shared no account");
  const address = getAddress(accounts[0]);
  return {
    kind: "wallet",
    address,
    label: "browser wallet",
    signMessage: async (message) => (await ethereum.request({ method: "personal_sign", params: [hexlify(toUtf8Bytes(message)), address] })) as string,
    signTypedData: async (domain, types, primaryType, value) => {
      await ensureChain(ethereum, ctx.wellKnown.chainId);
      const payload = {
        types: { EIP712Domain: ctx.wellKnown.eip712.types.EIP712Domain ?? domainTypes(domain), [primaryType]: types[primaryType] },
        domain,
        primaryType,
        message: value,
      };
      return (await ethereum.request({ method: "eth_signTypedData_v4", params: [address, JSON.stringify(payload)] })) as string;
    },
  };
}

/** EIP712Domain's fields, in the standard order, for the fields the domain has. */
function domainTypes(domain: Record<string, unknown>): TypedField[] {
  const all: TypedField[] = [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
    { name: "salt", type: "bytes32" },
  ];
  return all.filter((f) => domain[f.name] !== undefined);
}

/** Wallets sign typed data only for the chain they are on: ask to switch when it differs. */
async function ensureChain(ethereum: Eip1193, chainId: number): Promise<void> {
  const current = Number(await ethereum.request({ method: "eth_chainId" }));
  if (current === chainId) return;
  try {
    await ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + chainId.toString(16) }] });
  } catch {
    throw new Error(`Switch your wallet to chain ${chainId} (it is on chain ${current}) and try again`);
  }
}

/** EIP-4361: the service's challenge, signed with personal_sign, exchanged for an access token. */
export async function signIn(signer: Signer): Promise<Session> {
  const challenge = await api<{ message: string }>("/auth/challenge", { body: { address: signer.address }, auth: false });
  const signature = await signer.signMessage(challenge.message);
  const token = await api<{ accessToken: string; expiresAt: string; address: string; roles: string[] }>("/auth/token", {
    body: { message: challenge.message, signature },
    auth: false,
  });
  const next: Session = { address: getAddress(token.address), roles: token.roles, expiresAt: token.expiresAt, token: token.accessToken, signer };
  setSession(next);
  return next;
}

export function signOut(): void {
  setSession(null);
}

/**
 * Restores a session after a reload: the token from sessionStorage (this tab only); the signer when it
 * can be had again without asking (a demo key, a remembered browser key; a wallet reconnects on demand).
 */
export function restore(ctx: Context): void {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (!raw) return;
  try {
    const saved = JSON.parse(raw) as Omit<Session, "signer"> & { signer: { kind: Signer["kind"] } | null };
    if (Date.parse(saved.expiresAt) <= Date.now()) return sessionStorage.removeItem(SESSION_KEY);
    let signer: Signer | null = null;
    if (saved.signer?.kind === "demo") {
      const demo = ctx.config.demoAccounts.find((a) => a.address.toLowerCase() === saved.address.toLowerCase());
      if (demo) signer = keySigner(demo.privateKey, "demo", demo.name);
    } else if (saved.signer?.kind === "browser-key") {
      const key = localStorage.getItem(BROWSER_KEY);
      if (key) signer = keySigner(key, "browser-key", "key in this browser");
    }
    setSession({ ...saved, signer });
  } catch {
    sessionStorage.removeItem(SESSION_KEY);
  }
}

/** The signer to sign with now: the session's, or the wallet reconnected, or an explanation. */
export async function requireSigner(ctx: Context): Promise<Signer> {
  const s = current;
  if (!s) throw new Error("Sign in first");
  if (s.signer) return s.signer;
  if (hasWallet()) {
    const signer = await walletSigner(ctx);
    if (signer.address.toLowerCase() !== s.address.toLowerCase()) throw new Error(`The wallet's account is ${signer.address}, not the signed-in ${s.address}`);
    s.signer = signer;
    return signer;
  }
  throw new Error("This page no longer holds the key you signed in with: sign out and sign in again");
}

export function rememberedBrowserKey(): string | null {
  return localStorage.getItem(BROWSER_KEY);
}

export function rememberBrowserKey(privateKey: string | null): void {
  if (privateKey) localStorage.setItem(BROWSER_KEY, privateKey);
  else localStorage.removeItem(BROWSER_KEY);
}

export function isProblem(error: unknown, slug: string): boolean {
  return error instanceof ApiError && error.slug === slug;
}
