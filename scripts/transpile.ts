/**
 * `npm run build:dev`: turns the service, the scripts and the Hardhat config into JavaScript in dist/, file
 * by file, for `npm start` to run on plain node. Running the dev stack under ts-node kept the TypeScript
 * compiler and every transpiled file in the stack's memory for its whole life (about 30 MB measured, with the
 * other settings in `npm start`); here it lives in a process that exits.
 *
 * Each file is transpiled on its own (`transpileModule`, what ts-node's transpile-only mode does, with the
 * project's compiler options: decorator metadata for Nest included) and only when its output is missing or
 * older than its source, so a warm start costs a directory walk. Types are checked by `npm run lint` and
 * `npm run build`, not here: that takes seconds and needs every declaration file.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { PROJECT_ROOT } from "../service/paths";

const OUT_DIR = join(PROJECT_ROOT, "dist");

export function transpileProject(): { files: number; transpiled: number; ms: number } {
  const started = Date.now();
  const configFile = join(PROJECT_ROOT, "tsconfig.build.json");
  const { config, error } = ts.readConfigFile(configFile, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, PROJECT_ROOT, undefined, configFile);
  const compilerOptions: ts.CompilerOptions = { ...parsed.options, sourceMap: false, inlineSourceMap: false, declaration: false };
  const sources = [...parsed.fileNames, join(PROJECT_ROOT, "hardhat.config.ts")];
  let transpiled = 0;
  for (const source of sources) {
    const target = join(OUT_DIR, relative(PROJECT_ROOT, source)).replace(/\.ts$/, ".js");
    const built = statSync(target, { throwIfNoEntry: false });
    if (built && built.mtimeMs >= statSync(source).mtimeMs) continue;
    const { outputText, diagnostics } = ts.transpileModule(readFileSync(source, "utf8"), { compilerOptions, fileName: source, reportDiagnostics: true });
    if (diagnostics?.length) {
      const message = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("; ");
      throw new Error(`${relative(PROJECT_ROOT, source)}: ${message}`);
    }
    mkdirSync(dirname(target), { recursive: true });
    // Written whole to a temporary name and renamed, so a process starting meanwhile never loads half a file.
    const partial = `${target}.${process.pid}.tmp`;
    writeFileSync(partial, outputText);
    renameSync(partial, target);
    transpiled++;
  }
  return { files: sources.length, transpiled, ms: Date.now() - started };
}

if (require.main === module) {
  const { files, transpiled, ms } = transpileProject();
  if (transpiled > 0) console.log(`dist: ${transpiled} of ${files} files transpiled in ${ms} ms`);
}
