import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/**
 * A minimal JSON-RPC 2.0 client over HTTP(S) for the verifier's handful of read calls: requests made
 * within `stallMs` of each other go out as one batch (at most `maxBatch`), over kept-alive connections.
 * It replaces ethers' JsonRpcProvider here, whose per-call machinery cost the verifier more than all its
 * hashing; what it does is small enough to read.
 */
export interface JsonRpcOptions {
  /** How long a request waits for others to share its batch (default 2 ms). */
  stallMs?: number;
  /** Requests per batch (default 100). */
  maxBatch?: number;
  /** Per HTTP request (default 5 minutes, as ethers'). */
  timeoutMs?: number;
}

/** An error the node answered with: `code` and `message` from JSON-RPC, `data` as sent (revert data, for calls). */
export class JsonRpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number | undefined,
    readonly rpcMessage: string,
    readonly data: unknown,
  ) {
    super(`${method}: ${rpcMessage}${code === undefined ? "" : ` (code ${code})`}`);
  }

  /**
   * The revert data of a call that reverted, wherever the node put it (Hardhat nests it, Geth and Besu do
   * not): the first object with a message mentioning a revert and hex `data`, as ethers finds it.
   */
  revertData(): string | null {
    return findRevertData({ message: this.rpcMessage, data: this.data });
  }
}

interface Pending {
  method: string;
  params: unknown[];
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class JsonRpcClient {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly stallMs: number;
  private readonly maxBatch: number;
  private readonly timeoutMs: number;
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;

  constructor(url: string, options: JsonRpcOptions = {}) {
    this.url = new URL(url);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") throw new Error(`unsupported RPC URL ${url}: http or https only`);
    this.agent = this.url.protocol === "https:" ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.stallMs = options.stallMs ?? 2;
    this.maxBatch = options.maxBatch ?? 100;
    this.timeoutMs = options.timeoutMs ?? 300_000;
  }

  send<T = unknown>(method: string, params: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error("the RPC client is closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ method, params, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.stallMs);
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const p of this.queue.splice(0)) p.reject(new Error("the RPC client is closed"));
    this.agent.destroy();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const firstId = this.nextId;
      this.nextId += batch.length;
      const body = JSON.stringify(batch.map((p, i) => ({ jsonrpc: "2.0", id: firstId + i, method: p.method, params: p.params })));
      this.post(body).then(
        (answer) => settle(batch, firstId, answer),
        (error: unknown) => batch.forEach((p) => p.reject(error)),
      );
    }
  }

  private post(body: string): Promise<unknown> {
    const u = this.url;
    const request = u.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          protocol: u.protocol,
          hostname: u.hostname.replace(/^\[|\]$/g, ""),
          port: u.port || undefined,
          path: u.pathname + u.search,
          method: "POST",
          agent: this.agent,
          auth: u.username ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : undefined,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          timeout: this.timeoutMs,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let value: unknown;
            try {
              value = JSON.parse(text);
            } catch {
              reject(new Error(`the RPC endpoint answered HTTP ${res.statusCode} with a body that is not JSON`));
              return;
            }
            // Nodes answer JSON-RPC errors with HTTP 200 or an error status; a body of answers is read either way.
            resolve(value);
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`the RPC endpoint did not answer within ${this.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }
}

function settle(batch: Pending[], firstId: number, answer: unknown): void {
  const answers = Array.isArray(answer) ? answer : [answer];
  const byId = new Map<unknown, { result?: unknown; error?: { code?: number; message?: string; data?: unknown } }>();
  for (const a of answers) if (a && typeof a === "object") byId.set((a as { id?: unknown }).id, a as never);
  batch.forEach((p, i) => {
    const a = byId.get(firstId + i) ?? (answers.length === 1 && batch.length === 1 ? (answers[0] as never) : undefined);
    if (!a) return p.reject(new Error(`${p.method}: the RPC endpoint sent no answer`));
    if (a.error) return p.reject(new JsonRpcError(p.method, a.error.code, String(a.error.message ?? "error"), a.error.data));
    if (!("result" in a)) return p.reject(new Error(`${p.method}: the RPC endpoint's answer has no result`));
    p.resolve(a.result);
  });
}

const HEX = /^0x[0-9a-fA-F]*$/;

/** ethers' spelunkData: a { message ~ /revert/i, data: hex } found anywhere in the error, JSON strings included. */
function findRevertData(value: unknown, depth = 0): string | null {
  if (value === null || value === undefined || depth > 8) return null;
  if (typeof value === "object") {
    const o = value as { message?: unknown; data?: unknown };
    if (typeof o.message === "string" && /revert/i.test(o.message) && typeof o.data === "string" && HEX.test(o.data)) return o.data;
    for (const key of Object.keys(o)) {
      const found = findRevertData((o as Record<string, unknown>)[key], depth + 1);
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof value === "string") {
    try {
      return findRevertData(JSON.parse(value), depth + 1);
    } catch {
      return null;
    }
  }
  return null;
}
