#!/usr/bin/env node
/**
 * The deployment kit's one-shot contract deployment step (service `deployer` in deploy/compose.yaml), run in
 * the service image as `node deploy/scripts/deploy-contracts.js`:
 *
 *  1. waits until the chain at CHAIN_RPC_URL answers and has produced a block (QBFT produces blocks only once
 *     three of the four validators are up), at most CHAIN_WAIT_SECONDS (default 300);
 *  2. refuses a chain whose id is not EXPECTED_CHAIN_ID (the genesis' chainId), so a mistyped URL never deploys
 *     the contracts and grants the roles on another chain;
 *  3. runs scripts/deploy.ts as built into the image — `node dist/scripts/deploy.js --network NETWORK --rpc
 *     CHAIN_RPC_URL` — with the rest of the environment (DEPLOYER_PRIVATE_KEY, RELAYER_ADDRESSES, …; see
 *     docs/configuration.md). It writes deployments/NETWORK.json, on the volume the service instances read
 *     their DEPLOYMENT from. Run again, it reuses the contracts already there and only grants missing roles.
 *
 * Plain JavaScript with Node's own modules only: the runtime image has no TypeScript tooling.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const { join } = require("node:path");

/** scripts/deploy.ts, compiled by `npm run build` (tsconfig.build.json: rootDir ".", outDir "dist"). */
const DEPLOY_SCRIPT = join(__dirname, "..", "..", "dist", "scripts", "deploy.js");

/** The command line of scripts/deploy.ts for this environment. */
function deployArguments(env) {
  return [DEPLOY_SCRIPT, "--network", required(env, "NETWORK"), "--rpc", required(env, "CHAIN_RPC_URL")];
}

function required(env, name) {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function rpc(url, method) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Polls until the chain answers with a block after genesis; returns its chain id. */
async function waitForChain(url, waitSeconds) {
  const deadline = Date.now() + waitSeconds * 1000;
  let last = "no answer yet";
  for (;;) {
    try {
      const block = Number(await rpc(url, "eth_blockNumber"));
      if (block >= 1) return Number(await rpc(url, "eth_chainId"));
      last = "no block after genesis yet (QBFT needs three of four validators)";
    } catch (error) {
      last = error.message;
    }
    if (Date.now() > deadline) throw new Error(`the chain at ${url} is not producing blocks after ${waitSeconds} s: ${last}`);
    await new Promise((done) => setTimeout(done, 2_000));
  }
}

async function main() {
  const env = process.env;
  const url = required(env, "CHAIN_RPC_URL");
  const expected = Number(required(env, "EXPECTED_CHAIN_ID"));
  const chainId = await waitForChain(url, Number(env.CHAIN_WAIT_SECONDS || 300));
  if (chainId !== expected) throw new Error(`chain ${chainId} at ${url} is not the expected chain ${expected}`);
  const run = spawnSync(process.execPath, deployArguments(env), { stdio: "inherit", env });
  if (run.error) throw run.error;
  process.exitCode = run.status ?? 1;
}

module.exports = { DEPLOY_SCRIPT, deployArguments };

if (require.main === module) {
  main().catch((error) => {
    console.error(`deploy-contracts: ${error.message}`);
    process.exit(1);
  });
}
