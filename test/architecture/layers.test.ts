import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The service's folders in layers, bottom first (docs/architecture.md). A folder may import folders of
 * lower layers only, so imports point down and no two folders can depend on each other. A new folder must
 * be placed here before it can be imported at all.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["config", "common", "domain"], // settings, problems and the shared language: import nothing of the service
  ["database"], // connection, migrations, locks: knows no feature
  ["chain"], // provider, deployment, contracts, signatures, transactions
  ["projection", "patients"], // the consent state indexed from chain; enrolled patients
  ["auth"], // sign-in, tokens, guard, authority
  ["audit", "records", "edge", "institutions", "portal"], // the access trail and its anchoring; the encrypted record store; the HTTP edge (parsing, limits, headers, problems); the institution directory; the developer portal (/docs)
  ["decisions", "consents"], // consent decisions and CDS Hooks; relaying and reading consents
  ["record-release", "enrolment", "erasure", "health", "observability"], // features built on the above; /metrics and the request log, reading every layer below (the instruments they feed sit in common/)
  ["fhir", "hl7v2"], // the FHIR R4 surface; HL7 v2 in (POST /hl7v2, MLLP)
];

const ROOT = resolve(__dirname, "../..");
const SERVICE = join(ROOT, "service");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Relative import specifiers of a file (static imports, re-exports, `import type`, dynamic imports). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
}

/** Top folder under service/ of a path, or undefined for service/'s own files (main, app, paths). */
function folderOf(path: string): string | undefined {
  const parts = relative(SERVICE, path).split("/");
  return parts.length > 1 && !parts[0].startsWith("..") ? parts[0] : undefined;
}

interface Edge {
  from: string;
  to: string;
  example: string;
}

function folderEdges(): Edge[] {
  const edges = new Map<string, Edge>();
  for (const file of sourceFiles(SERVICE)) {
    const from = folderOf(file);
    if (!from) continue;
    for (const spec of importsOf(file)) {
      const to = folderOf(resolve(dirname(file), spec));
      if (!to || to === from) continue;
      const key = `${from}→${to}`;
      if (!edges.has(key)) edges.set(key, { from, to, example: `${relative(SERVICE, file)} imports ${spec}` });
    }
  }
  return [...edges.values()];
}

const layerOf = (folder: string): number => LAYERS.findIndex((layer) => layer.includes(folder));

describe("service layers", () => {
  const edges = folderEdges();

  it("finds the imports it checks", () => {
    // A regex that silently matched nothing would pass every check below.
    expect(edges.length).toBeGreaterThan(20);
    expect(edges).toContainEqual(expect.objectContaining({ from: "fhir", to: "record-release" }));
  });

  it("places every folder under service/ in a layer", () => {
    const folders = readdirSync(SERVICE).filter((name) => statSync(join(SERVICE, name)).isDirectory());
    expect(folders.filter((folder) => layerOf(folder) === -1)).toEqual([]);
  });

  it("has imports that only point down a layer", () => {
    const upward = edges.filter((e) => layerOf(e.to) >= layerOf(e.from)).map((e) => `${e.from} → ${e.to} (${e.example})`);
    expect(upward).toEqual([]);
  });

  it("has no folder-level import cycle", () => {
    // Implied by the layering, and checked on its own so the message names the cycle if the table is ever loosened.
    const next = new Map<string, string[]>();
    for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (folder: string, path: string[]): void => {
      if (state.get(folder) === "done") return;
      if (state.get(folder) === "open") {
        cycles.push([...path.slice(path.indexOf(folder)), folder].join(" → "));
        return;
      }
      state.set(folder, "open");
      for (const to of next.get(folder) ?? []) visit(to, [...path, folder]);
      state.set(folder, "done");
    };
    for (const folder of next.keys()) visit(folder, []);
    expect(cycles).toEqual([]);
  });

  it("keeps the database layer free of features", () => {
    const known = new Set(["config", "common"]);
    expect(edges.filter((e) => e.from === "database" && !known.has(e.to))).toEqual([]);
  });
});

describe("the regulator's verifier", () => {
  it("imports nothing from service/", () => {
    const files = [join(ROOT, "scripts/verify.ts"), ...sourceFiles(join(ROOT, "scripts/verify"))];
    const fromService = files.flatMap((file) =>
      importsOf(file)
        .filter((spec) => resolve(dirname(file), spec).startsWith(SERVICE + "/"))
        .map((spec) => `${relative(ROOT, file)} imports ${spec}`),
    );
    expect(files.length).toBeGreaterThan(5);
    expect(fromService).toEqual([]);
  });
});
