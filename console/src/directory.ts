import { api, ApiError } from "./api";
import type { Context } from "./context";
import { shortHex } from "./dom";

/** An institution as the directory (`GET /institutions`) lists it: named by the registry's admin, role as indexed from chain. */
export interface Institution {
  name: string | null;
  address: string;
  role?: string;
  /** Holds the institution role now (the directory's `holdsRole`). */
  active?: boolean;
}

export interface Directory {
  /** Whether the service's directory answered (otherwise names come from the dev stack's demo accounts, if any). */
  available: boolean;
  institutions: Institution[];
  nameOf(address: string | null | undefined): string | null;
  /** "Northside Lab" or "0x15d3…6A65" when the directory does not know it. */
  label(address: string | null | undefined): string;
}

let cached: { at: number; directory: Directory } | undefined;
const TTL_MS = 60_000;

/** The institution directory; when the service has none (404) the console shows addresses instead of names. */
export async function directory(ctx: Context, fresh = false): Promise<Directory> {
  if (!fresh && cached && Date.now() - cached.at < TTL_MS) return cached.directory;
  let institutions: Institution[] = [];
  let available = false;
  try {
    const body = await api<unknown>("/institutions");
    institutions = listOf(body);
    available = true;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 429) throw error;
    // 404 (no directory on this service) or refused: fall back below.
  }
  const names = new Map<string, string>();
  // The dev stack's demo accounts name the demo's institutions, regulator and patients.
  for (const a of ctx.config.demoAccounts) names.set(a.address.toLowerCase(), a.name);
  for (const i of institutions) if (i.name) names.set(i.address.toLowerCase(), i.name);
  if (!available) {
    institutions = ctx.config.demoAccounts
      .filter((a) => a.role === "institution")
      .map((a) => ({ name: a.name, address: a.address, role: "institution", active: true }));
  }
  const nameOf = (address: string | null | undefined) => (address ? (names.get(address.toLowerCase()) ?? null) : null);
  const result: Directory = {
    available,
    institutions,
    nameOf,
    label: (address) => (!address ? "—" : /^0x0{40}$/i.test(address) ? "any institution" : (nameOf(address) ?? shortHex(address))),
  };
  cached = { at: Date.now(), directory: result };
  return result;
}

/** Accepts the list as an array or wrapped (`{ institutions: [...] }`, `{ items: [...] }`). */
function listOf(body: unknown): Institution[] {
  const list = Array.isArray(body) ? body : ((body as { institutions?: unknown[]; items?: unknown[] })?.institutions ?? (body as { items?: unknown[] })?.items ?? []);
  return (list as Array<Record<string, unknown>>)
    .filter((i) => typeof i?.address === "string")
    .map((i) => ({
      name: typeof i.name === "string" && i.name ? i.name : null,
      address: String(i.address),
      role: typeof i.role === "string" ? i.role : undefined,
      active: typeof i.holdsRole === "boolean" ? i.holdsRole : typeof i.active === "boolean" ? i.active : undefined,
    }));
}
