/**
 * The deployment kit (deploy/), checked statically: images cannot be pulled on the machines that build
 * Consentry, so nothing here starts a container. What is checked: the compose file parses and every service
 * is configured (image or build, health checks, dependency conditions); the service instances set only
 * settings of the service's config schema, every required one, and their example secrets load through
 * loadConfig once filled; the Besu genesis is a QBFT genesis whose extraData names exactly the four validators
 * derived from the committed dev node keys, with free gas; node permissioning lists those four enodes;
 * the Dockerfile is multi-stage and runs as a non-root user; the deployment step calls scripts/deploy.ts
 * with the interface it has. docs/deploy.md says what was not run.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { computeAddress, decodeRlp, getAddress, SigningKey } from "ethers";
import { parse as parseYaml } from "yaml";
import { AppConfig, loadConfig } from "../../service/config/app-config";
import { deploymentFile } from "../../scripts/deploy";
import {
  ACCOUNTS_ALLOWLIST_FILE,
  CHAIN_ROLES,
  ENV_FILES,
  newSecrets,
  parseEnvFile,
  PLACEHOLDER,
  renderSecrets,
  writeSecrets,
} from "../../deploy/scripts/generate-secrets";

const ROOT = resolve(__dirname, "../..");
const KIT = join(ROOT, "deploy");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  env_file?: string[];
  volumes?: string[];
  ports?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean; interval?: string; retries?: number };
}
interface Compose {
  name: string;
  services: Record<string, ComposeService>;
  networks: Record<string, { internal?: boolean; ipam?: { config: { subnet: string; ip_range?: string }[] } }>;
  volumes: Record<string, unknown>;
}

const COMPOSE_TEXT = read("deploy/compose.yaml");

/** Compose's interpolation as `docker compose config` does it with nothing set: every `${NAME:-default}` → default. */
function interpolate<T>(value: T): T {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}/g, (_m, _name, fallback: string) => fallback) as T;
  }
  if (Array.isArray(value)) return value.map(interpolate) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)])) as T;
  }
  return value;
}

const compose = interpolate(parseYaml(COMPOSE_TEXT, { merge: true }) as Compose);
const services = compose.services;
const VALIDATORS = ["validator-1", "validator-2", "validator-3", "validator-4"];
const INSTANCES = ["consentry-1", "consentry-2"];
const deployer = services.deployer;

/** `a=b` TOML lines (strings, numbers, booleans, arrays of strings over several lines); comments dropped. */
function parseToml(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!pending && (line === "" || line.startsWith("#"))) continue;
    pending += line;
    if ((pending.match(/\[/g) ?? []).length > (pending.match(/\]/g) ?? []).length) continue;
    const setting = /^([a-z0-9-]+)\s*=\s*(.+)$/.exec(pending);
    if (!setting) throw new Error(`Cannot read TOML line: ${pending}`);
    out[setting[1]] = JSON.parse(setting[2]);
    pending = "";
  }
  return out;
}

/** Container path → host path (relative to deploy/) or volume name, for one service. */
function mounts(service: ComposeService): Map<string, { source: string; readOnly: boolean }> {
  const map = new Map<string, { source: string; readOnly: boolean }>();
  for (const volume of service.volumes ?? []) {
    const [source, target, mode] = volume.split(":");
    map.set(target, { source, readOnly: mode === "ro" });
  }
  return map;
}

/** The example env files, filled by the kit's generator as an operator would. */
const secrets = newSecrets();
const generated = renderSecrets(secrets);
const exampleOf = (name: string) => read(`deploy/env/${name}.example`);

function instanceEnvironment(name: string, serviceEnvText = generated["service.env"]): Record<string, string> {
  const service = services[name];
  expect(service.env_file).toEqual(["secrets/service.env"]);
  return { ...parseEnvFile(serviceEnvText), ...service.environment };
}

const genesis = JSON.parse(read("deploy/besu/genesis.json"));
const besuConfig = parseToml(read("deploy/besu/config.toml"));

/** The committed dev node keys: private key, public key (enode id) and validator address of each. */
const nodeKeys = VALIDATORS.map((name) => {
  const privateKey = read(`deploy/besu/keys/${name}/key`).trim();
  const publicKey = read(`deploy/besu/keys/${name}/key.pub`).trim();
  return { name, privateKey, publicKey, address: computeAddress("0x04" + publicKey.slice(2)) };
});

function ipv4Of(name: string): string {
  const networks = services[name].networks as Record<string, { ipv4_address?: string }>;
  return networks.chain.ipv4_address!;
}

describe("the deployment kit (deploy/), checked statically", () => {
  describe("compose.yaml", () => {
    it("parses, and has PostgreSQL, Redis, four validators, the deployment step and two service instances", () => {
      expect(compose.name).toBe("consentry");
      expect(Object.keys(services).sort()).toEqual(["postgres", "redis", ...VALIDATORS, "deployer", ...INSTANCES].sort());
      // Every ${…} has a default, so `docker compose config` needs nothing but the generated secrets.
      expect(COMPOSE_TEXT.match(/\$\{[^}]*\}/g)!.every((m) => m.includes(":-"))).toBe(true);
      expect(JSON.stringify(compose)).not.toContain("${");
    });

    it("gives every service a pinned image or the kit's build, and a health check unless it is the one-shot step", () => {
      for (const [name, service] of Object.entries(services)) {
        expect({ name, image: service.image }).toEqual({ name, image: expect.stringMatching(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/) });
        expect(service.image).not.toMatch(/:latest$/);
        if (service.build) {
          expect(existsSync(resolve(KIT, service.build.context, service.build.dockerfile))).toBe(true);
          expect(resolve(KIT, service.build.context)).toBe(ROOT);
        }
        if (name === "deployer") {
          expect(service.restart).toBe("no");
          expect(service.healthcheck).toEqual({ disable: true });
        } else {
          expect({ name, restart: service.restart }).toEqual({ name, restart: "unless-stopped" });
          expect({ name, test: service.healthcheck?.test?.[0] }).toEqual({ name, test: "CMD" });
          expect(service.healthcheck!.disable).toBeUndefined();
        }
      }
      expect(services.postgres.healthcheck!.test).toEqual(expect.arrayContaining(["pg_isready", "consentry"]));
      expect(services.redis.healthcheck!.test).toEqual(["CMD", "redis-cli", "ping"]);
      for (const name of VALIDATORS) expect(services[name].healthcheck!.test!.join(" ")).toContain("/readiness?minPeers=2");
      for (const name of INSTANCES) {
        expect(services[name].healthcheck!.test).toEqual(["CMD", "node", "deploy/scripts/healthcheck.js"]);
        expect(services[name].build).toEqual(deployer.build);
        expect(services[name].image).toBe(deployer.image);
      }
      expect(read("deploy/scripts/healthcheck.js")).toContain('path: "/health"');
    });

    it("starts each service after its dependencies are healthy, or completed for the deployment step", () => {
      const order: string[] = [];
      const visit = (name: string, path: string[] = []) => {
        expect(path).not.toContain(name); // no cycle
        for (const dependency of Object.keys(services[name].depends_on ?? {})) visit(dependency, [...path, name]);
        if (!order.includes(name)) order.push(name);
      };
      for (const name of Object.keys(services)) visit(name);
      for (const [name, service] of Object.entries(services)) {
        for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
          expect(services[dependency]).toBeDefined();
          const wanted = dependency === "deployer" ? "service_completed_successfully" : "service_healthy";
          expect({ name, dependency, condition }).toEqual({ name, dependency, condition: wanted });
        }
      }
      expect(Object.keys(deployer.depends_on!).sort()).toEqual(VALIDATORS);
      for (const name of INSTANCES) {
        expect(Object.keys(services[name].depends_on!)).toEqual(expect.arrayContaining(["postgres", "redis", "deployer"]));
      }
      // The instances start side by side (migrations take an advisory lock), neither waiting for the other.
      expect(Object.keys(services["consentry-1"].depends_on!)).not.toContain("consentry-2");
      expect(Object.keys(services["consentry-2"].depends_on!)).not.toContain("consentry-1");
      expect(order.indexOf("deployer")).toBeLessThan(Math.min(...INSTANCES.map((name) => order.indexOf(name))));
    });

    it("mounts only files that exist or that the secrets generator writes, and declares every volume and network", () => {
      const generatedFiles = Object.keys(generated).map((name) => `./secrets/${name}`);
      for (const [name, service] of Object.entries(services)) {
        for (const { source } of mounts(service).values()) {
          if (source.startsWith(".")) {
            if (source.startsWith("./secrets/")) expect(generatedFiles).toContain(source);
            else expect({ name, source, exists: existsSync(resolve(KIT, source)) }).toEqual({ name, source, exists: true });
          } else {
            expect(Object.keys(compose.volumes)).toContain(source);
          }
        }
        for (const file of service.env_file ?? []) expect(ENV_FILES.map((f) => `secrets/${f}`)).toContain(file);
        const networks = Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? {});
        expect(networks.length).toBeGreaterThan(0);
        for (const network of networks) expect(Object.keys(compose.networks)).toContain(network);
      }
      // The database and Redis sit on a network without a route out, reachable from the service instances only.
      expect(compose.networks.data.internal).toBe(true);
      for (const name of Object.keys(services)) {
        const networks = services[name].networks as string[] | Record<string, unknown>;
        const onData = Array.isArray(networks) ? networks.includes("data") : "data" in networks;
        expect({ name, onData }).toEqual({ name, onData: ["postgres", "redis", ...INSTANCES].includes(name) });
      }
      // Published ports are bound to this machine only.
      for (const service of Object.values(services)) for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
    });
  });

  describe("the service instances' settings", () => {
    const schema = Object.keys(new AppConfig());

    it("are all keys of the service's config schema, and include every required one", () => {
      for (const name of INSTANCES) {
        const env = instanceEnvironment(name);
        expect({ name, unknown: Object.keys(env).filter((key) => !schema.includes(key)) }).toEqual({ name, unknown: [] });
        for (const key of [
          // Required by loadConfig (no default) …
          "CHAIN_RPC_URL", "DEPLOYMENT", "JWT_SECRET", "MASTER_KEY",
          // … and by this deployment: PostgreSQL for several workers, the three signer keys, the shared rate limit.
          "DATABASE_URL", "RELAYER_PRIVATE_KEY", "ANCHORER_PRIVATE_KEY", "REGISTRAR_PRIVATE_KEY", "REDIS_URL", "PUBLIC_URL", "HOST",
          // … and Prometheus, behind a token on a port of its own.
          "METRICS_TOKEN", "METRICS_PORT",
        ]) {
          expect({ name, key, set: Boolean(env[key]) }).toEqual({ name, key, set: true });
        }
      }
    });

    it("load through loadConfig once the example's placeholders are filled, with CHAIN_CONFIRMATIONS=0", () => {
      for (const name of INSTANCES) {
        const config = loadConfig(instanceEnvironment(name));
        expect(config.CHAIN_CONFIRMATIONS).toBe(0);
        expect(config.WEB_CONCURRENCY).toBeGreaterThan(1);
        expect(config.HOST).toBe("0.0.0.0");
        expect(services[name].ports).toEqual([expect.stringMatching(new RegExp(`:${config.PORT}$`))]);
        expect(config.MASTER_KEY).toBe(secrets.masterKey);
        expect(config.RELAYER_PRIVATE_KEY).toBe(secrets.keys.relayer.privateKey);
        expect(config.METRICS_TOKEN).toBe(secrets.metricsToken);
        // The metrics listener is reachable on the compose networks only: no published port names it.
        expect(config.METRICS_PORT).toBeGreaterThan(0);
        expect((services[name].ports ?? []).some((port) => port.endsWith(`:${config.METRICS_PORT}`))).toBe(false);
      }
      // QBFT is what makes zero confirmations right: a block is final once it is in the chain.
      expect(genesis.config.qbft).toBeDefined();
    });

    it("refuse to start with the example's placeholders left in", () => {
      for (const name of INSTANCES) {
        expect(() => loadConfig(instanceEnvironment(name, exampleOf("service.env")))).toThrow(/Invalid configuration/);
      }
    });

    it("keep secrets in the env file, and point at this kit's database, Redis, validators and deployment file", () => {
      const secretKeys = Object.keys(parseEnvFile(exampleOf("service.env")));
      expect(secretKeys.sort()).toEqual(
        ["DATABASE_URL", "JWT_SECRET", "MASTER_KEY", "RELAYER_PRIVATE_KEY", "ANCHORER_PRIVATE_KEY", "REGISTRAR_PRIVATE_KEY", "METRICS_TOKEN"].sort(),
      );
      const rpcHosts = new Set<string>();
      for (const name of INSTANCES) {
        const environment = services[name].environment!;
        expect(Object.keys(environment).filter((key) => secretKeys.includes(key))).toEqual([]);
        const env = instanceEnvironment(name);
        const database = new URL(env.DATABASE_URL);
        expect([database.hostname, database.port, database.username, database.pathname]).toEqual(["postgres", "5432", "consentry", "/consentry"]);
        expect(database.password).toBe(parseEnvFile(generated["postgres.env"]).CONSENTRY_DB_PASSWORD);
        expect(new URL(env.REDIS_URL).hostname).toBe("redis");
        const rpc = new URL(env.CHAIN_RPC_URL);
        expect(VALIDATORS).toContain(rpc.hostname);
        expect(rpc.port).toBe(String(besuConfig["rpc-http-port"]));
        expect(besuConfig["host-allowlist"]).toContain(rpc.hostname);
        rpcHosts.add(rpc.hostname);
        // The browser's chain is validator-1's published port, and Besu lets the console's origin call it.
        expect(services["validator-1"].ports).toContain(`127.0.0.1:${new URL(env.PUBLIC_CHAIN_RPC_URL).port}:8545`);
        expect(besuConfig["rpc-http-cors-origins"]).toContain(new URL(env.PUBLIC_URL).origin);
        // The deployment file the step writes, on the volume both mount.
        expect(env.DEPLOYMENT).toBe(`/app/deployments/${deployer.environment!.NETWORK}.json`);
        expect(mounts(services[name]).get("/app/deployments")).toEqual({ source: "deployments", readOnly: true });
      }
      expect(rpcHosts.size).toBe(INSTANCES.length);
      // The role and database DATABASE_URL names are the ones the init script creates (not a superuser).
      const init = read("deploy/postgres/init/10-consentry.sh");
      expect(init).toContain("CREATE ROLE consentry LOGIN NOSUPERUSER");
      expect(init).toContain("CREATE DATABASE consentry OWNER consentry");
      expect(services.postgres.env_file).toEqual(["secrets/postgres.env"]);
    });

    it("are documented in docs/deploy.md, and each service setting in docs/configuration.md", () => {
      const deployDoc = read("docs/deploy.md");
      const configurationDoc = read("docs/configuration.md");
      const names = new Set<string>();
      for (const name of INSTANCES) for (const key of Object.keys(instanceEnvironment(name))) names.add(key);
      for (const key of names) {
        expect({ key, inDeployDoc: deployDoc.includes(`\`${key}\``) }).toEqual({ key, inDeployDoc: true });
        expect({ key, inConfigurationDoc: configurationDoc.includes(`\`${key}\``) }).toEqual({ key, inConfigurationDoc: true });
      }
      for (const file of ENV_FILES) {
        for (const key of Object.keys(parseEnvFile(exampleOf(file)))) expect({ key, documented: deployDoc.includes(`\`${key}\``) }).toEqual({ key, documented: true });
      }
      for (const key of [...Object.keys(deployer.environment!), ...Object.keys(parseEnvFile(exampleOf("postgres.env")))]) {
        expect({ key, documented: deployDoc.includes(`\`${key}\``) }).toEqual({ key, documented: true });
        expect({ key, inConfigurationDoc: configurationDoc.includes(`\`${key}\``) }).toEqual({ key, inConfigurationDoc: true });
      }
      expect(read("README.md")).toContain("docs/deploy.md");
    });
  });

  describe("secrets", () => {
    it("are placeholders in every committed example, and generated files never reach git or an image", () => {
      for (const file of ENV_FILES) {
        const example = exampleOf(file);
        for (const [key, value] of Object.entries(parseEnvFile(example))) {
          if (/PASSWORD|SECRET|KEY|TOKEN|DATABASE_URL|ADDRESSES/.test(key)) expect({ file, key, value }).toEqual({ file, key, value: expect.stringContaining(PLACEHOLDER) });
        }
        // No key material outside comments.
        expect(example.split("\n").filter((l) => !l.startsWith("#")).join("\n")).not.toMatch(/[0-9a-fA-F]{32}/);
      }
      expect(read("deploy/.gitignore").split("\n")).toContain("/secrets/");
      const dockerignore = read(".dockerignore").split("\n");
      expect(dockerignore).toEqual(expect.arrayContaining(["deploy/secrets", "**/*.env", "**/.env", "node_modules", ".git"]));
    });

    it("are generated consistently: the deployer grants the service's own accounts, which the chain allowlists", () => {
      const service = parseEnvFile(generated["service.env"]);
      const deployerEnv = parseEnvFile(generated["deployer.env"]);
      const settings = Object.values(generated).flatMap((text) => text.split("\n").filter((line) => !line.startsWith("#")));
      expect(settings.join("\n")).not.toContain(PLACEHOLDER);
      for (const role of ["RELAYER", "ANCHORER", "REGISTRAR"]) {
        expect(getAddress(deployerEnv[`${role}_ADDRESSES`])).toBe(computeAddress(service[`${role}_PRIVATE_KEY`]));
      }
      const addresses = CHAIN_ROLES.map((role) => secrets.keys[role].address);
      expect(new Set(addresses).size).toBe(4); // admin, relayer, anchorer and registrar are four accounts
      expect(computeAddress(deployerEnv.DEPLOYER_PRIVATE_KEY)).toBe(secrets.keys.deployer.address);
      const allowlist = parseToml(generated[ACCOUNTS_ALLOWLIST_FILE])["accounts-allowlist"] as string[];
      expect(allowlist.map((a) => getAddress(a)).sort()).toEqual(addresses.sort());
      expect(secrets.masterKey).toMatch(/^[0-9a-f]{64}$/);
      expect(secrets.jwtSecret.length).toBeGreaterThanOrEqual(32);
      expect(newSecrets().masterKey).not.toBe(secrets.masterKey);
    });
  });

  describe("the Besu QBFT network", () => {
    it("has a QBFT genesis with the chain id the deployment step expects and the forks the contracts are compiled for", () => {
      const { config } = genesis;
      expect(config.qbft).toEqual({ blockperiodseconds: expect.any(Number), epochlength: expect.any(Number), requesttimeoutseconds: expect.any(Number) });
      expect(config.qbft.blockperiodseconds).toBeGreaterThanOrEqual(1);
      expect(config.qbft.requesttimeoutseconds).toBeGreaterThan(config.qbft.blockperiodseconds);
      expect(config.qbft.epochlength).toBeGreaterThan(0);
      for (const other of ["ibft2", "clique", "ethash", "terminalTotalDifficulty"]) expect(config[other]).toBeUndefined();
      expect(config.chainId).toBe(Number(deployer.environment!.EXPECTED_CHAIN_ID));
      // Not Hardhat's 31337, on which scripts/deploy.ts would fall back to a public development key.
      expect(config.chainId).not.toBe(31337);
      expect(read("hardhat.config.ts")).toContain('evmVersion: "cancun"');
      expect([config.berlinBlock, config.londonBlock, config.shanghaiTime, config.cancunTime]).toEqual([0, 0, 0, 0]);
      expect(config.pragueTime).toBeUndefined();
      expect(genesis.mixHash).toBe("0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365");
      expect(genesis.difficulty).toBe("0x1");
    });

    it("has free gas: zero base fee, zero minimum prices, a generous block gas limit, and no ether to pay with", () => {
      expect(genesis.config.zeroBaseFee).toBe(true);
      expect(genesis.baseFeePerGas ?? "0x0").toBe("0x0");
      expect(besuConfig["min-gas-price"]).toBe(0);
      expect(besuConfig["tx-pool-min-gas-price"]).toBe(0);
      // A deployment of both contracts takes a few million gas; an anchor about 55,000.
      expect(BigInt(genesis.gasLimit)).toBeGreaterThanOrEqual(100_000_000n);
      expect(genesis.alloc).toEqual({});
    });

    it("names in extraData exactly the four validators of the committed dev node keys", () => {
      for (const key of nodeKeys) {
        expect(SigningKey.computePublicKey(key.privateKey, false)).toBe("0x04" + key.publicKey.slice(2));
        expect(key.publicKey).toMatch(/^0x[0-9a-f]{128}$/);
      }
      expect(read("deploy/besu/keys/README.md")).toContain("THROWAWAY DEV KEYS");
      const decoded = decodeRlp(genesis.extraData) as unknown[];
      expect(decoded).toHaveLength(5);
      const [vanity, validators, votes, round, seals] = decoded;
      expect(vanity).toBe("0x" + "00".repeat(32));
      expect((validators as string[]).map((a) => getAddress(a))).toEqual(nodeKeys.map((k) => k.address).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
      expect([votes, round, seals]).toEqual([[], "0x", []]);
      expect(new Set(nodeKeys.map((k) => k.address)).size).toBe(4);
    });

    it("connects the four validators only to each other: static nodes, the nodes allowlist and their fixed addresses agree", () => {
      const subnet = compose.networks.chain.ipam!.config[0];
      expect(subnet.subnet).toBe("172.30.7.0/24");
      const enodes = nodeKeys.map((key) => {
        const ip = ipv4Of(key.name);
        expect(ip.startsWith("172.30.7.")).toBe(true);
        expect(Number(ip.split(".")[3])).toBeLessThan(128); // outside ip_range 172.30.7.128/25
        expect(services[key.name].environment).toEqual({ BESU_P2P_HOST: ip });
        return `enode://${key.publicKey.slice(2)}@${ip}:${besuConfig["p2p-port"]}`;
      });
      expect(subnet.ip_range).toBe("172.30.7.128/25");
      expect(JSON.parse(read("deploy/besu/static-nodes.json"))).toEqual(enodes);
      expect(parseToml(read("deploy/besu/permissions_nodes.toml"))).toEqual({ "nodes-allowlist": enodes });
      expect(besuConfig["discovery-enabled"]).toBe(false);
    });

    it("runs every validator with the shared options, its own key only, and node and account permissioning", () => {
      expect(besuConfig["permissions-nodes-config-file-enabled"]).toBe(true);
      expect(besuConfig["permissions-accounts-config-file-enabled"]).toBe(true);
      expect(besuConfig["sync-mode"]).toBe("FULL");
      // Read and send-raw only: no administration, validator votes, permission edits or tracing over RPC.
      expect(besuConfig["rpc-http-api"]).toEqual(["ETH", "NET", "WEB3"]);
      for (const key of nodeKeys) {
        const service = services[key.name];
        expect(service.command).toEqual(["--config-file=/config/config.toml"]);
        const mounted = mounts(service);
        const expected: Record<string, string> = {
          "/config/config.toml": "./besu/config.toml",
          [besuConfig["genesis-file"] as string]: "./besu/genesis.json",
          [besuConfig["static-nodes-file"] as string]: "./besu/static-nodes.json",
          [besuConfig["permissions-nodes-config-file"] as string]: "./besu/permissions_nodes.toml",
          [besuConfig["permissions-accounts-config-file"] as string]: `./secrets/${ACCOUNTS_ALLOWLIST_FILE}`,
          [besuConfig["node-private-key-file"] as string]: `./besu/keys/${key.name}/key`,
        };
        for (const [target, source] of Object.entries(expected)) expect(mounted.get(target)).toEqual({ source, readOnly: true });
        expect(mounted.get(besuConfig["data-path"] as string)).toEqual({ source: `${key.name}-data`, readOnly: false });
        const otherKeys = [...mounted.values()].filter((m) => m.source.includes("/keys/") && m.source !== `./besu/keys/${key.name}/key`);
        expect(otherKeys).toEqual([]);
      }
      const images = new Set(VALIDATORS.map((name) => services[name].image));
      expect(images.size).toBe(1);
      expect([...images][0]).toMatch(/^hyperledger\/besu:\d+\.\d+\.\d+$/);
    });
  });

  describe("the Dockerfile", () => {
    const lines = read("deploy/Dockerfile")
      .replace(/\\\n/g, " ")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    const stages: { name: string; image: string; lines: string[] }[] = [];
    const args = Object.fromEntries(lines.filter((l) => /^ARG \w+=/.test(l)).map((l) => l.slice(4).split("=")));
    for (const line of lines) {
      const from = /^FROM (\S+) AS (\S+)$/.exec(line);
      if (from) stages.push({ image: from[1].replace(/\$\{(\w+)\}/, (_m, name: string) => args[name]), name: from[2], lines: [] });
      else stages.at(-1)?.lines.push(line);
    }
    const runtime = stages.at(-1)!;

    it("builds in stages: dependencies and the build in one, production dependencies only in the one that runs", () => {
      expect(stages.map((s) => s.name)).toEqual(["build", "runtime"]);
      const build = stages[0].lines.join("\n");
      expect(build).toContain("RUN npm ci");
      expect(build).toMatch(/RUN npm run build .*npm prune --omit=dev/);
      const pkg = JSON.parse(read("package.json"));
      expect(pkg.scripts.build).toContain("tsc -p tsconfig.build.json");
      expect(pkg.scripts.compile).toContain("build:console");
      expect(runtime.lines.filter((l) => l.startsWith("COPY")).every((l) => l.startsWith("COPY --from=build "))).toBe(true);
      expect(runtime.lines.some((l) => /npm (ci|install)/.test(l))).toBe(false);
      // The Node.js line package.json's engines asks for.
      const major = /(\d+)\./.exec(pkg.engines.node)![1];
      for (const stage of stages) expect(stage.image).toMatch(new RegExp(`^node:${major}-`));
    });

    it("runs `node dist/service/main.js` as a non-root user, with a health check on /health and no secret baked in", () => {
      const users = runtime.lines.filter((l) => l.startsWith("USER "));
      expect(users).toEqual(["USER node"]);
      const userIndex = runtime.lines.indexOf("USER node");
      expect(runtime.lines.slice(userIndex).some((l) => l.startsWith("RUN ") || l.startsWith("COPY "))).toBe(false);
      expect(runtime.lines).toContain('CMD ["node", "dist/service/main.js"]');
      for (const name of INSTANCES) expect(services[name].command).toEqual(["node", "dist/service/main.js"]);
      expect(runtime.lines.find((l) => l.startsWith("HEALTHCHECK"))).toContain('CMD ["node", "deploy/scripts/healthcheck.js"]');
      expect(runtime.lines).toContain("WORKDIR /app");
      expect(runtime.lines.join("\n")).toContain("deploy/scripts/deploy-contracts.js /app/deploy/scripts/healthcheck.js ./deploy/scripts/");
      for (const line of lines.filter((l) => /^(ENV|ARG) /.test(l))) expect(line).not.toMatch(/SECRET|MASTER_KEY|PRIVATE_KEY|PASSWORD|DATABASE_URL/);
      // What the service reads besides dist/: the project-root marker, the ABIs, the portal's script.
      for (const path of ["hardhat.config.ts", "artifacts", "service/portal/sign-in.js"]) expect(runtime.lines.join("\n")).toContain(path);
    });
  });

  describe("the deployment step", () => {
    const step = require("../../deploy/scripts/deploy-contracts.js") as {
      DEPLOY_SCRIPT: string;
      deployArguments(env: Record<string, string>): string[];
    };
    const deployTs = read("scripts/deploy.ts");

    it("runs scripts/deploy.ts as built into the image, with the flags it reads", () => {
      expect(deployer.command).toEqual(["node", "deploy/scripts/deploy-contracts.js"]);
      // deploy/scripts/ → /app/deploy/scripts in the image; dist/ is tsc's output of scripts/ (rootDir ".").
      expect(relative(join(KIT, "scripts", "..", ".."), step.DEPLOY_SCRIPT)).toBe(join("dist", "scripts", "deploy.js"));
      const tsconfig = JSON.parse(read("tsconfig.json")).compilerOptions;
      expect([tsconfig.rootDir, tsconfig.outDir]).toEqual([".", "dist"]);
      expect(JSON.parse(read("tsconfig.build.json")).include).toContain("scripts/**/*.ts");
      const args = step.deployArguments(deployer.environment!);
      const flags = args.filter((a) => a.startsWith("--"));
      const readFlags = [...deployTs.matchAll(/argument\("(--[a-z-]+)"\)/g)].map((m) => m[1]);
      expect(flags.sort()).toEqual(readFlags.sort());
      expect(args[args.indexOf("--network") + 1]).toBe("besu");
      expect(args[args.indexOf("--rpc") + 1]).toBe("http://validator-1:8545");
      expect(() => step.deployArguments({})).toThrow(/NETWORK is required/);
    });

    it("writes the deployment file the service instances read", () => {
      const network = deployer.environment!.NETWORK;
      // scripts/deploy.ts writes <project root>/deployments/<network>.json; the image's project root is /app.
      expect(relative(ROOT, deploymentFile(network))).toBe(join("deployments", `${network}.json`));
      expect(mounts(deployer).get("/app/deployments")).toEqual({ source: "deployments", readOnly: false });
      for (const name of INSTANCES) expect(services[name].environment!.DEPLOYMENT).toBe(`/app/deployments/${network}.json`);
    });

    it("sets only what scripts/deploy.ts or the step read, including the deployer key a non-Hardhat chain requires", () => {
      const readByDeploy = [...deployTs.matchAll(/(?:process\.env\.|list\(")([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]);
      const stepText = read("deploy/scripts/deploy-contracts.js");
      const readByStep = [...stepText.matchAll(/(?:env\.|required\(env, ")([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]);
      expect(readByStep).toEqual(expect.arrayContaining(["NETWORK", "CHAIN_RPC_URL", "EXPECTED_CHAIN_ID", "CHAIN_WAIT_SECONDS"]));
      const env = { ...parseEnvFile(generated["deployer.env"]), ...deployer.environment };
      for (const key of Object.keys(env)) expect({ key, read: readByDeploy.includes(key) || readByStep.includes(key) }).toEqual({ key, read: true });
      // Commented-out optional settings of the example are ones deploy.ts reads too.
      const optional = [...exampleOf("deployer.env").matchAll(/^# ([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
      expect(optional.length).toBeGreaterThan(0);
      for (const key of optional) expect(readByDeploy).toContain(key);
      expect(env.DEPLOYER_PRIVATE_KEY).toMatch(/^0x[0-9a-f]{64}$/);
      expect(deployTs).toContain("DEPLOYER_PRIVATE_KEY is required on a chain other than Hardhat's");
      expect(deployer.env_file).toEqual(["secrets/deployer.env"]);
    });
  });
  describe("the kit's scripts, run without Docker", () => {
    /** A local HTTP server answering with `handler`; closed after the callback. */
    async function withServer(handler: (request: IncomingMessage, body: string, response: ServerResponse) => void, use: (port: number) => Promise<void>) {
      const server = createServer((request, response) => {
        let body = "";
        request.on("data", (chunk) => (body += chunk));
        request.on("end", () => handler(request, body, response));
      });
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      try {
        await use((server.address() as AddressInfo).port);
      } finally {
        await new Promise((done) => server.close(done));
      }
    }

    /** Runs a kit script with node and `env` (nothing of this process's environment but PATH). */
    function run(script: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
      return new Promise((done) => {
        execFile(process.execPath, [join(KIT, "scripts", script)], { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 }, (error, _stdout, stderr) =>
          done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }),
        );
      });
    }

    /** A JSON-RPC endpoint of a chain with this id and head. */
    const chain = (chainId: number, head: number) => (_request: IncomingMessage, body: string, response: ServerResponse) => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      const result = method === "eth_chainId" ? `0x${chainId.toString(16)}` : method === "eth_blockNumber" ? `0x${head.toString(16)}` : null;
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify(result === null ? { jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } } : { jsonrpc: "2.0", id, result }));
    };

    it("the deployment step refuses a chain whose id is not the genesis' and never runs the deployment there", async () => {
      await withServer(chain(31337, 5), async (port) => {
        const { code, stderr } = await run("deploy-contracts.js", {
          NETWORK: "besu",
          CHAIN_RPC_URL: `http://127.0.0.1:${port}`,
          EXPECTED_CHAIN_ID: String(genesis.config.chainId),
        });
        expect(code).toBe(1);
        expect(stderr).toContain(`deploy-contracts: chain 31337 at http://127.0.0.1:${port} is not the expected chain 1127`);
      });
    });

    it("the deployment step waits for a first block, and gives up after CHAIN_WAIT_SECONDS", async () => {
      await withServer(chain(1127, 0), async (port) => {
        const { code, stderr } = await run("deploy-contracts.js", {
          NETWORK: "besu",
          CHAIN_RPC_URL: `http://127.0.0.1:${port}`,
          EXPECTED_CHAIN_ID: "1127",
          CHAIN_WAIT_SECONDS: "1",
        });
        expect(code).toBe(1);
        expect(stderr).toContain("is not producing blocks after 1 s: no block after genesis yet");
      });
    });

    it("the health check is healthy on 200 from GET /health only", async () => {
      for (const status of [200, 503]) {
        const paths: string[] = [];
        await withServer(
          (request, _body, response) => {
            paths.push(`${request.method} ${request.url}`);
            response.statusCode = status;
            response.end("{}");
          },
          async (port) => {
            const { code } = await run("healthcheck.js", { PORT: String(port) });
            expect({ status, code }).toEqual({ status, code: status === 200 ? 0 : 1 });
          },
        );
        expect(paths).toEqual(["GET /health"]);
      }
      // Nothing listening: unhealthy, not hanging.
      expect((await run("healthcheck.js", { PORT: "1" })).code).toBe(1);
    });

    it("the secrets generator writes private env files and refuses to replace them without --force", () => {
      const dir = join(mkdtempSync(join(tmpdir(), "consentry-kit-")), "secrets");
      try {
        writeSecrets(dir, generated);
        expect(statSync(dir).mode & 0o777).toBe(0o700);
        for (const name of ENV_FILES) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
        expect(statSync(join(dir, ACCOUNTS_ALLOWLIST_FILE)).mode & 0o777).toBe(0o644);
        expect(readFileSync(join(dir, "service.env"), "utf8")).toBe(generated["service.env"]);
        const again = renderSecrets(newSecrets());
        expect(() => writeSecrets(dir, again)).toThrow(/already in .*would not open the existing database/);
        expect(readFileSync(join(dir, "service.env"), "utf8")).toBe(generated["service.env"]);
        writeSecrets(dir, again, true);
        expect(readFileSync(join(dir, "service.env"), "utf8")).toBe(again["service.env"]);
      } finally {
        rmSync(dirname(dir), { recursive: true, force: true });
      }
    });
  });
});
