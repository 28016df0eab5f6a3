import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import type { Deployment } from "../../service/chain/deployment";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

describe("security headers, CORS and TLS", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  const started: TestService[] = [];

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
  });

  async function start(env: Record<string, string> = {}): Promise<TestService> {
    const service = await startTestService({ deployment, provider: chain.provider, env });
    started.push(service);
    return service;
  }

  it("sends nosniff, no framing, no referrer and a CSP on every answer, and no-store on the API", async () => {
    const service = await start();
    const lab = await consentClient(service, chain.provider, deployment).signIn(walletOf("institution", 1));
    for (const res of [
      await service.request({ method: "GET", url: "/health" }),
      await service.request({ method: "GET", url: "/audit/events", headers: lab }),
      await service.request({ method: "GET", url: "/fhir/Condition/x?purpose=TREAT", headers: lab }),
    ]) {
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["x-frame-options"]).toBe("DENY");
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(res.headers["cache-control"]).toBe("no-store");
      expect(res.headers["strict-transport-security"]).toBeUndefined(); // plain HTTP: HSTS would be meaningless
    }
  });

  it("still serves the Swagger UI under its CSP", async () => {
    const service = await start();
    const page = await service.request({ method: "GET", url: "/docs" });
    expect(page.status).toBe(200);
    expect(page.text).toContain("swagger-ui");
    const csp = String(page.headers["content-security-policy"]);
    // Everything the page loads comes from the service itself.
    for (const src of page.text.match(/(?:src|href)="([^"]+)"/g) ?? []) expect(src).not.toMatch(/https?:\/\//);
    expect(csp).toContain("script-src 'self'");
    const script = await service.request({ method: "GET", url: "/docs/swagger-ui-init.js" });
    expect(script.status).toBe(200);
  });

  it("keeps CORS closed unless CORS_ORIGINS lists the origin", async () => {
    const preflight = (service: TestService, origin: string) =>
      service.request({ method: "OPTIONS", url: "/consents", headers: { origin, "access-control-request-method": "POST" } });
    const closed = await start();
    expect((await preflight(closed, "https://portal.example")).headers["access-control-allow-origin"]).toBeUndefined();
    const open = await start({ CORS_ORIGINS: "https://portal.example" });
    expect((await preflight(open, "https://portal.example")).headers["access-control-allow-origin"]).toBe("https://portal.example");
    expect((await preflight(open, "https://evil.example")).headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("serves HTTPS with TLS 1.3 as the minimum, refusing TLS 1.2, with HSTS", async () => {
    const dir = mkdtempSync(join(tmpdir(), "consentry-tls-"));
    try {
      const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
      const service = await start({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
      await service.app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = service.app.getHttpServer().address() as AddressInfo;

      const handshake = (maxVersion: "TLSv1.2" | "TLSv1.3") =>
        new Promise<string>((resolve) => {
          const socket = tlsConnect({ host: "127.0.0.1", port, maxVersion, rejectUnauthorized: false }, () => {
            resolve(socket.getProtocol() ?? "none");
            socket.end();
          });
          socket.on("error", (error) => resolve(`refused: ${(error as NodeJS.ErrnoException).code}`));
        });
      expect(await handshake("TLSv1.2")).toMatch(/^refused/);
      expect(await handshake("TLSv1.3")).toBe("TLSv1.3");

      const health = await new Promise<{ status: number; hsts: string | undefined }>((resolve, reject) => {
        const req = httpsRequest({ host: "127.0.0.1", port, path: "/health", rejectUnauthorized: false }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, hsts: res.headers["strict-transport-security"] as string | undefined }));
        });
        req.on("error", reject);
        req.end();
      });
      expect(health.status).toBe(200);
      expect(health.hsts).toMatch(/max-age=\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
