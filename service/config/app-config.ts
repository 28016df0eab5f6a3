import { plainToInstance, Transform } from "class-transformer";
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  validateSync,
  type ValidationError,
} from "class-validator";

const toInt = ({ value }: { value: unknown }) =>
  typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

/**
 * Every setting the service reads, validated at boot. Names are the environment variables.
 * A wrong or missing value stops start-up with one line naming it.
 */
export class AppConfig {
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  @IsOptional() @IsString()
  HOST = "127.0.0.1";

  @IsOptional() @IsIn(["fatal", "error", "warn", "log", "debug", "verbose"])
  LOG_LEVEL: "fatal" | "error" | "warn" | "log" | "debug" | "verbose" = "log";

  /** PostgreSQL; when unset the service uses PGlite (embedded PostgreSQL). */
  @IsOptional() @IsUrl({ protocols: ["postgres", "postgresql"], require_tld: false, require_protocol: true })
  DATABASE_URL?: string;

  /**
   * Worker processes serving one port (Node's cluster); 0 means one per core with PostgreSQL, one with PGlite
   * (it lives inside one process). Advisory locks keep one indexer and one anchorer among them.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(64)
  WEB_CONCURRENCY = 1;

  /** Where PGlite keeps its files; unset keeps the database in memory. */
  @IsOptional() @IsString()
  PGLITE_DATA_DIR?: string;

  @IsUrl({ protocols: ["http", "https", "ws", "wss"], require_tld: false, require_protocol: true })
  CHAIN_RPC_URL!: string;

  /**
   * The chain's JSON-RPC URL as a browser may reach it: the web console reads anchored roots from it to check
   * proofs against the chain itself (and the CSP lets the console connect there). Unset: the console checks
   * proofs against the service's roots and says so. `npm start` sets it to its built-in chain.
   */
  @IsOptional() @IsUrl({ protocols: ["http", "https"], require_tld: false, require_protocol: true })
  PUBLIC_CHAIN_RPC_URL?: string;

  /** Path to a deployments/<network>.json file. */
  @IsString()
  DEPLOYMENT!: string;

  /** Key that relays patients' signed consents (RELAYER_ROLE). */
  @IsOptional() @Matches(PRIVATE_KEY, { message: "RELAYER_PRIVATE_KEY must be a 0x-prefixed 32-byte hex key" })
  RELAYER_PRIVATE_KEY?: string;

  /** Key that anchors access batches (ANCHORER_ROLE). */
  @IsOptional() @Matches(PRIVATE_KEY, { message: "ANCHORER_PRIVATE_KEY must be a 0x-prefixed 32-byte hex key" })
  ANCHORER_PRIVATE_KEY?: string;

  /**
   * Key that registers institutions (REGISTRAR_ROLE on ConsentRegistry) for `POST /institutions`. Unset:
   * the directory is read-only and registration answers 503 signer-not-configured.
   */
  @IsOptional() @Matches(PRIVATE_KEY, { message: "REGISTRAR_PRIVATE_KEY must be a 0x-prefixed 32-byte hex key" })
  REGISTRAR_PRIVATE_KEY?: string;

  /** HMAC secret for access tokens; at least 32 characters. */
  @IsString() @Matches(/^.{32,}$/, { message: "JWT_SECRET must be at least 32 characters" })
  JWT_SECRET!: string;

  /**
   * The URL clients reach the service at (e.g. https://consentry.example.org, behind a proxy): sign-in
   * messages name its host and URI whatever the Host header says, and FHIR Bundles use it as their base.
   * Unset: sign-in names the host the client used, if AUTH_ALLOWED_HOSTS allows it.
   */
  @IsOptional() @IsUrl({ protocols: ["http", "https"], require_tld: false, require_protocol: true }, { message: "PUBLIC_URL must be an http(s) URL" })
  PUBLIC_URL?: string;

  /**
   * Hosts (comma-separated; `host` allows any port, `host:port` one) whose name sign-in messages may carry
   * when PUBLIC_URL is unset: a challenge requested through another Host header is refused, so a page on
   * another site cannot obtain a message that names itself.
   */
  @IsOptional() @IsString() @Matches(/^\s*(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?\s*(,\s*(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?\s*)*$/, {
    message: "AUTH_ALLOWED_HOSTS must be comma-separated host names, each optionally with a port",
  })
  AUTH_ALLOWED_HOSTS = "localhost,127.0.0.1,[::1]";

  @IsOptional() @Transform(toInt) @IsInt() @Min(30) @Max(86_400)
  AUTH_TOKEN_TTL_S = 900;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3_600)
  AUTH_CHALLENGE_TTL_S = 300;

  /** 32-byte master key (hex) wrapping the per-patient data keys. */
  @Matches(/^(0x)?[0-9a-fA-F]{64}$/, { message: "MASTER_KEY must be 32 bytes of hex" })
  MASTER_KEY!: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(64)
  CHAIN_CONFIRMATIONS = 0;

  @IsOptional() @Transform(toInt) @IsInt() @Min(50) @Max(60_000)
  INDEXER_POLL_MS = 500;

  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  CONSENT_MAX_STALENESS_MS = 5_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(3_600_000)
  BATCH_MAX_MS = 1_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  BATCH_MAX_EVENTS = 10_000;

  /** How often the trail monitor checks new events and advances its sweep of the whole trail. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(50) @Max(600_000)
  TRAIL_CHECK_MS = 1_000;

  /** Events the monitor's sweep re-verifies per check: a full sweep takes (trail length / this) checks. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(10_000_000)
  TRAIL_SWEEP_EVENTS = 5_000;

  /** Access events are kept at least this long; 0 lets an admin prune anything anchored (tests, demos). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(36_500)
  AUDIT_RETENTION_DAYS = 183;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1024) @Max(50 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  /** Calls per minute per interface and caller (account, or address when anonymous); 0 turns limiting off. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(1_000_000)
  RATE_LIMIT_PER_MINUTE = 100;

  /** Redis holding the rate-limit counters every instance shares; unset keeps them in this process. */
  @IsOptional() @IsUrl({ protocols: ["redis", "rediss"], require_tld: false, require_protocol: true })
  REDIS_URL?: string;

  /** Comma-separated origins a browser may call the API from; unset allows none (CORS closed). */
  @IsOptional() @IsString()
  CORS_ORIGINS?: string;

  /** PEM certificate (chain) and key files: with both, the service serves HTTPS with TLS 1.3 as the minimum. */
  @IsOptional() @IsString()
  TLS_CERT_FILE?: string;

  @IsOptional() @IsString()
  TLS_KEY_FILE?: string;

  /** HL7 v2 over MLLP (docs/hl7v2.md): the TCP port of its listener on HOST (TLS with client certificates); unset: no listener. 0 picks a free port (tests). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  HL7_MLLP_PORT?: number;

  /** Who may send over MLLP: comma-separated `<SHA-256 fingerprint of the client certificate>=<institution address>`. */
  @IsOptional() @IsString() @Matches(/^\s*[0-9A-Fa-f:]{64,95}\s*=\s*0x[0-9a-fA-F]{40}\s*(,\s*[0-9A-Fa-f:]{64,95}\s*=\s*0x[0-9a-fA-F]{40}\s*)*$/, {
    message: "HL7_MLLP_SENDERS must be comma-separated <certificate SHA-256 fingerprint>=<institution address> pairs",
  })
  HL7_MLLP_SENDERS?: string;

  /** PEM certificate (chain) and key of the MLLP listener's TLS; required with HL7_MLLP_PORT. */
  @IsOptional() @IsString()
  HL7_MLLP_TLS_CERT_FILE?: string;

  @IsOptional() @IsString()
  HL7_MLLP_TLS_KEY_FILE?: string;

  /**
   * Bearer token that protects `GET /metrics` (Prometheus) on the service's port; at least 32 characters.
   * Unset: /metrics is not served there. With METRICS_PORT, that listener asks for it too.
   */
  @IsOptional() @IsString() @Matches(/^\S{32,}$/, { message: "METRICS_TOKEN must be at least 32 characters without spaces" })
  METRICS_TOKEN?: string;

  /** A listener of its own on HOST serving only `GET /metrics` (the primary's, aggregated, with several workers); unset: none. 0 picks a free port. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  METRICS_PORT?: number;
}

/** The service's public base URL, without a trailing slash: PUBLIC_URL, else this host and port. */
export function publicBaseUrl(config: Pick<AppConfig, "PUBLIC_URL" | "HOST" | "PORT" | "TLS_CERT_FILE">): string {
  if (config.PUBLIC_URL) return config.PUBLIC_URL.replace(/\/+$/, "");
  const wildcard = config.HOST === "0.0.0.0" || config.HOST === "::" || config.HOST === "";
  const host = wildcard ? "127.0.0.1" : config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST;
  return `${config.TLS_CERT_FILE ? "https" : "http"}://${host}:${config.PORT}`;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validates `env` into an AppConfig, or throws a ConfigError whose message is one line naming the setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const known = Object.keys(new AppConfig());
  const plain: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== "" && (known.includes(key) || REQUIRED.includes(key))) plain[key] = value;
  }
  const config = plainToInstance(AppConfig, plain, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: false });
  if (errors.length > 0) throw new ConfigError(`Invalid configuration: ${describe(errors[0])}`);
  return config;
}

const REQUIRED = ["CHAIN_RPC_URL", "DEPLOYMENT", "JWT_SECRET", "MASTER_KEY"];

function describe(error: ValidationError): string {
  // class-validator lists constraints from the last decorator up, so the last one is the most basic
  // (e.g. "must be an integer" rather than "must not be greater than 65535" for PORT=abc).
  const constraint = Object.values(error.constraints ?? {}).at(-1);
  if (error.value === undefined) return `${error.property} is required`;
  return constraint ?? `${error.property} is invalid`;
}
