import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { PROJECT_ROOT } from "../../service/paths";
import { READY_TIMEOUT_MS } from "./ready";

export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; polls until READY_TIMEOUT_MS unless told. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a TypeScript entry point of this repository in its own Node process. */
export function runTs(script: string, env: Record<string, string | undefined> = {}): RunningProcess {
  return runCommand(process.execPath, ["-r", "ts-node/register/transpile-only", script], env);
}

/**
 * Runs `command` in the repository, with this environment plus `env` (jest's NODE_OPTIONS cleared).
 * `detached`: in a process group of its own, as a terminal runs a command (a signal to -pid reaches the whole group, like Ctrl-C).
 */
export function runCommand(command: string, args: string[], env: Record<string, string | undefined> = {}, options: { detached?: boolean } = {}): RunningProcess {
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_OPTIONS: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  child.stderr!.on("data", (chunk) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = READY_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          const match = out.match(pattern);
          if (match) return resolve(match);
          if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`exited with ${child.exitCode ?? child.signalCode}: ${err || out}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}: ${out}${err}`));
          setTimeout(check, 100);
        };
        check();
      });
    },
  };
}

/** Whether `pid` runs (a zombie, exited and awaiting its parent, does not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Every live process under `pid` (children, their children …), from /proc (Linux). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const child of children.get(p) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** The command line of a live process (empty when it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}
