import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { AppConfig } from "../../service/config/app-config";

const ROOT = resolve(__dirname, "../..");
const DOC = readFileSync(join(ROOT, "docs/configuration.md"), "utf8");

/** The variables docs/configuration.md names in a table's first column (`A`, `B` …). */
function documented(): Set<string> {
  const names = new Set<string>();
  for (const line of DOC.split("\n")) {
    const first = /^\|\s*([^|]+)\|/.exec(line)?.[1] ?? "";
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(m[1]);
  }
  return names;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Environment variables a file reads as `process.env.NAME` or `process.env["NAME"]`. */
function envReadBy(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]+)|\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\])/g)].map((m) => m[1] ?? m[2]);
}

describe("configuration is documented in one place", () => {
  it("lists every key of the service's config schema in a table of docs/configuration.md", () => {
    const keys = Object.keys(new AppConfig());
    // Optional settings without a default are own properties too (class fields): the schema is all here.
    expect(keys).toEqual(expect.arrayContaining(["CHAIN_RPC_URL", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "TLS_KEY_FILE", "REGISTRAR_PRIVATE_KEY"]));
    expect(keys.length).toBeGreaterThan(25);
    const names = documented();
    expect(keys.filter((key) => !names.has(key))).toEqual([]);
  });

  it("lists every variable the service, npm start, npm run token and npm run deploy read", () => {
    const files = [...sourceFiles(join(ROOT, "service")), ...["scripts/dev.ts", "scripts/token.ts", "scripts/deploy.ts"].map((f) => join(ROOT, f)), ...sourceFiles(join(ROOT, "scripts/lib"))];
    const read = [...new Set(files.flatMap(envReadBy))].sort();
    expect(read).toEqual(expect.arrayContaining(["CHAIN_PORT", "SEED_DEMO", "CONSENTRY_API", "DEPLOYER_PRIVATE_KEY"]));
    const names = documented();
    expect(read.filter((name) => !names.has(name))).toEqual([]);
  });

  it("documents no setting the schema dropped", () => {
    const serviceTable = DOC.split("## `npm start`")[0];
    const names = [...serviceTable.matchAll(/^\|\s*([^|]+)\|/gm)].flatMap((m) => [...m[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((n) => n[1]));
    const keys = new Set(Object.keys(new AppConfig()));
    expect(names.filter((name) => !keys.has(name))).toEqual([]);
  });
});
