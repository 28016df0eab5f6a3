import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The repository root, found from this file whether it runs from source or from dist/. */
export const PROJECT_ROOT: string = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, "hardhat.config.ts"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("Cannot find the project root (hardhat.config.ts) above " + __dirname);
    dir = parent;
  }
  return dir;
})();

/** Where `npm run build:console` writes the web console (gitignored with dist/). */
export const CONSOLE_DIR = join(PROJECT_ROOT, "dist", "console");
