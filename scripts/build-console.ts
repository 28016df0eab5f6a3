/**
 * `npm run build:console`: bundles the web console (console/) into static files in dist/console/ with
 * esbuild — offline, in a fraction of a second. The script and stylesheet get content-hashed names, which
 * index.html is rewritten to name, so the service may let browsers cache them forever.
 */
import { build, type Plugin } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { CONSOLE_DIR, PROJECT_ROOT } from "../service/paths";

const SOURCE = join(PROJECT_ROOT, "console");

/**
 * Libraries quote web addresses in their error messages ("see https://github.com/…"): harmless, but the
 * console promises files without a single external URL, so the scheme is dropped from such quotes (written `https://` or `https:/\/`).
 */
const noExternalUrls: Plugin = {
  name: "no-external-urls",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replace(/https?:\\?\/\\?\/(?=[a-z0-9-]+\.)/gi, ""),
      loader: "js",
    }));
  },
};

/** Assets of earlier builds are kept this long: a page loaded just before a rebuild still finds its script. */
const STALE_AFTER_MS = 10 * 60_000;

export async function buildConsole(out = CONSOLE_DIR): Promise<{ files: string[]; ms: number }> {
  const started = Date.now();
  const assets = join(out, "assets");
  mkdirSync(assets, { recursive: true });
  const result = await build({
    entryPoints: { app: join(SOURCE, "src", "main.ts"), style: join(SOURCE, "styles.css") },
    outdir: assets,
    entryNames: "[name]-[hash]",
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome110", "firefox110", "safari16"],
    // No source maps, comments or anything fetched at run time: the page loads two files from the service.
    legalComments: "none",
    write: false,
    logLevel: "warning",
    tsconfig: join(SOURCE, "tsconfig.json"),
    plugins: [noExternalUrls],
  });
  const outputs = result.outputFiles.map((file) => ({ name: basename(file.path), contents: file.contents }));
  const script = outputs.find((f) => /^app-.*\.js$/.test(f.name))?.name;
  const style = outputs.find((f) => /^style-.*\.css$/.test(f.name))?.name;
  if (!script || !style) throw new Error(`esbuild produced ${outputs.map((f) => f.name).join(", ")}: expected app-*.js and style-*.css`);
  const html = readFileSync(join(SOURCE, "index.html"), "utf8")
    .replace("{{SCRIPT}}", `/console/assets/${script}`)
    .replace("{{STYLE}}", `/console/assets/${style}`);
  // Each file appears whole (written aside, then renamed): a service serving the console meanwhile never
  // sends half a file, and a test run rebuilding it does not disturb another one using it.
  for (const file of outputs) writeAtomically(join(assets, file.name), file.contents);
  writeAtomically(join(out, "index.html"), html);
  const current = new Set(outputs.map((f) => f.name));
  for (const name of readdirSync(assets)) {
    const path = join(assets, name);
    if (!current.has(name) && Date.now() - statSync(path).mtimeMs > STALE_AFTER_MS) rmSync(path, { force: true });
  }
  return { files: ["index.html", ...outputs.map((f) => `assets/${f.name}`)], ms: Date.now() - started };
}

function writeAtomically(path: string, contents: string | Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

if (require.main === module) {
  buildConsole().then(
    ({ files, ms }) => console.log(`console: ${files.length} files in ${ms} ms → ${CONSOLE_DIR}`),
    (error: Error) => {
      console.error(`console: ${error.message}`);
      process.exit(1);
    },
  );
}
