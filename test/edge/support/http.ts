import { connect } from "node:net";
import type { Requester } from "./world";

/**
 * The test service's `request` over real HTTP to a service process. An object payload is sent as JSON
 * with `content-type: application/json` unless the caller set one, as Fastify's inject does. Requests
 * fetch refuses to send (a header value it will not write) resolve with status 0; a body on a GET or
 * HEAD is dropped.
 */
export function httpRequester(baseUrl: string): Requester {
  return {
    async request({ method, url, payload, headers }) {
      // Framing is fetch's to decide: a Content-Length or Transfer-Encoding of our own would only stall it
      // (rawHttp sends those cases byte for byte).
      const h: Record<string, string> = Object.fromEntries(Object.entries(headers ?? {}).filter(([k]) => !/^(content-length|transfer-encoding|connection)$/i.test(k)));
      let body: string | undefined;
      if (payload !== undefined) {
        body = typeof payload === "string" ? payload : JSON.stringify(payload);
        if (typeof payload !== "string" && !Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["content-type"] = "application/json";
      }
      let res: Response;
      try {
        res = await fetch(baseUrl + url, { method, headers: h, body: method === "GET" || method === "HEAD" ? undefined : body, redirect: "manual" });
      } catch (error) {
        return { status: 0, headers: {}, body: undefined, text: `not sent: ${(error as Error).message}` };
      }
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: Object.fromEntries(res.headers), body: parsed, text };
    },
  };
}

/** Writes `raw` bytes to the service's socket and resolves with whatever it answers before closing. */
export function rawHttp(baseUrl: string, raw: string | Buffer, timeoutMs = 5_000): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = "";
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("error", done);
    socket.on("close", done);
    socket.on("connect", () => socket.write(raw));
  });
}
