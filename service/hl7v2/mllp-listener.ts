import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from "@nestjs/common";
import { getAddress, isAddress } from "ethers";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { AppConfig, ConfigError } from "../config/app-config";
import { Problem } from "../common/problem";
import { Hl7Failure } from "./hl7v2-failure";
import { Hl7v2Service } from "./hl7v2.service";
import { frame, FrameTooLarge, MllpDecoder } from "./mllp";

/** Connections the listener serves at once. */
const MAX_CONNECTIONS = 64;
/** A connection with nothing to say for this long is closed (senders reconnect). */
const IDLE_MS = 5 * 60_000;

/** `HL7_MLLP_SENDERS` as fingerprint (lower-case hex, no colons) → institution address. */
export function parseSenders(value: string | undefined): Map<string, string> {
  const senders = new Map<string, string>();
  for (const pair of (value ?? "").split(",").map((p) => p.trim()).filter(Boolean)) {
    const [fingerprint, address] = pair.split("=").map((s) => s.trim());
    const hex = fingerprint.replace(/:/g, "").toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex) || !isAddress(address)) throw new ConfigError("HL7_MLLP_SENDERS must be comma-separated <certificate SHA-256 fingerprint>=<institution address> pairs");
    senders.set(hex, getAddress(address));
  }
  return senders;
}

/**
 * The MLLP listener for HL7 v2 (off unless HL7_MLLP_PORT is set), on HOST, over TLS only. A sender is
 * the institution its client certificate is registered to (HL7_MLLP_SENDERS: the certificate's SHA-256
 * fingerprint → the institution's address), checked when the connection opens: the TLS handshake proves
 * the client holds the certificate's key, so no one else can write as that custodian. A connection
 * without a registered certificate is closed before it can send anything. Nothing in the message (MSH-3/4
 * sending application and facility, MSH-8 security) is trusted to say who sent it. Messages on one
 * connection are answered in order, each with its ACK in an MLLP frame; the custodian's role is read as
 * for an HTTP request (the consent projection), and every write is checked on chain.
 */
@Injectable()
export class MllpListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MllpListener.name);
  private server?: Server;
  private readonly sockets = new Set<TLSSocket>();

  constructor(
    private readonly config: AppConfig,
    private readonly hl7: Hl7v2Service,
    private readonly authority: AuthorityService,
  ) {}

  /** The port listened on, once listening. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { HL7_MLLP_PORT: port, HL7_MLLP_TLS_CERT_FILE: certFile, HL7_MLLP_TLS_KEY_FILE: keyFile } = this.config;
    if (port === undefined || port === null) return;
    if (!certFile || !keyFile) throw new ConfigError("HL7_MLLP_PORT needs HL7_MLLP_TLS_CERT_FILE and HL7_MLLP_TLS_KEY_FILE: MLLP is served over TLS only");
    const senders = parseSenders(this.config.HL7_MLLP_SENDERS);
    if (senders.size === 0) throw new ConfigError("HL7_MLLP_PORT needs HL7_MLLP_SENDERS: no client certificate would be allowed to send");
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = [readFileSync(certFile), readFileSync(keyFile)];
    } catch (error) {
      throw new ConfigError(`Cannot read the MLLP TLS certificate or key: ${(error as Error).message.split("\n")[0]}`);
    }
    // Client certificates are pinned by fingerprint rather than chained to a CA, so Node's CA check is off;
    // the handshake still proves the client holds the key of the certificate it presents.
    const server = createServer({ cert, key, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" }, (socket) => this.accept(socket, senders));
    server.maxConnections = MAX_CONNECTIONS;
    server.on("tlsClientError", () => undefined); // a failed handshake concerns only that client
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.config.HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log({ message: "MLLP listener started", host: this.config.HOST, port: this.port, senders: senders.size });
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.end();
    // A sender that does not close its side is cut off after a moment.
    const timer = setTimeout(() => this.sockets.forEach((s) => s.destroy()), 2_000);
    await closed;
    clearTimeout(timer);
  }

  private accept(socket: TLSSocket, senders: Map<string, string>): void {
    const certificate = socket.getPeerCertificate();
    const fingerprint = certificate?.fingerprint256?.replace(/:/g, "").toLowerCase();
    const custodian = fingerprint ? senders.get(fingerprint) : undefined;
    // A pinned certificate still expires: past its validity it no longer names its sender.
    const now = Date.now();
    const current = !!certificate?.valid_from && !!certificate?.valid_to && Date.parse(certificate.valid_from) <= now && now <= Date.parse(certificate.valid_to);
    if (!custodian || !current) {
      this.logger.warn({ message: custodian ? "MLLP connection refused: the client certificate is outside its validity" : "MLLP connection refused: no registered client certificate" });
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setTimeout(IDLE_MS, () => socket.end());
    const decoder = new MllpDecoder(this.config.BODY_LIMIT_BYTES);
    let queue = Promise.resolve();
    socket.on("data", (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        if (!(error instanceof FrameTooLarge)) throw error;
        const failure = new Hl7Failure("AR", "message-too-large", error.message, { code: "100" });
        queue = queue.then(() => void socket.end(frame(this.hl7.reject(failure))));
        return;
      }
      for (const bytes of messages) queue = queue.then(() => this.answer(socket, custodian, bytes));
    });
  }

  private async answer(socket: TLSSocket, custodian: string, bytes: Buffer): Promise<void> {
    if (socket.destroyed) return;
    let ack: string;
    const raw = bytes.toString("utf8");
    try {
      // Roles as for an HTTP request: from the consent projection, refused while it is stale.
      const actor: Actor = { address: custodian, roles: await this.authority.rolesAtRequest(custodian) };
      const answer = await this.hl7.receiveText(actor, raw, "mllp");
      ack = "notHl7" in answer ? this.hl7.reject(answer.notHl7) : answer.ack;
    } catch (error) {
      // The projection is stale, the chain or the access log unavailable: nothing was stored unrecorded; the sender may resend.
      const transient = error instanceof Problem && error.statusCode === 503;
      if (!transient) this.logger.error({ message: "MLLP message failed", error: error instanceof Problem ? error.slug : "internal" });
      ack = this.hl7.reject(new Hl7Failure("AE", transient ? "unavailable" : "internal-error", "The message could not be processed now; send it again later", { code: "207" }), raw);
    }
    if (!socket.destroyed) socket.write(frame(ack));
  }
}
