import { Logger, type LoggerService } from "@nestjs/common";
import { Client } from "pg";
import { type Contract, hexlify, randomBytes, Wallet, ZeroHash } from "ethers";
import { DataSource } from "typeorm";
import { contractAt, deployContracts } from "../../scripts/lib/deploy-contracts";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { ROLES } from "../../service/domain/roles";
import {
  ChainTransactionEntity,
  SIGNER_LOCK_PREFIX,
  TransactionManager,
  TransactionRevertedError,
  TransactionService,
  TransactionTimeoutError,
  TX_MAX_IN_FLIGHT,
  type ChainTransactionState,
  type TransactionTiming,
} from "../../service/chain/transactions";
import { Problem } from "../../service/common/problem";
import { AppConfig } from "../../service/config/app-config";
import { LockService, LockTimeoutError } from "../../service/database/advisory-lock";
import { dataSourceOptions } from "../../service/database/data-source";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { testDatabase, type TestDatabase } from "../support/database";
import { SETTLE_TIMEOUT_MS } from "../support/ready";

/** The manager's timings scaled down so each scenario takes milliseconds. */
const FAST: Partial<TransactionTiming> = {
  monitorPollMs: 20,
  leadershipPollMs: 30,
  waitPollMs: 50,
  rebroadcastMs: 300,
  retryBaseMs: 5,
  retryMaxMs: 20,
};
const onPostgres = !!process.env.TEST_DATABASE_URL;

class MemoryLogger implements LoggerService {
  readonly lines: Array<Record<string, unknown>> = [];
  log = (m: unknown) => void this.lines.push(m as Record<string, unknown>);
  warn = (m: unknown) => void this.lines.push(m as Record<string, unknown>);
  error = (m: unknown) => void this.lines.push(m as Record<string, unknown>);
  about = (id: number, message: string) => this.lines.filter((l) => l.id === id && l.message === message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = SETTLE_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

/**
 * Waits until the spied method has been called `times` times: passes of the manager's loop, counted rather
 * than slept through, so "nothing happened" means it had the chance to happen, however slow the machine.
 * Two calls: the pass that made the first has then finished.
 */
async function afterCalls(spy: jest.SpyInstance, times = 2): Promise<void> {
  try {
    await eventually(async () => spy.mock.calls.length >= times);
  } finally {
    spy.mockRestore();
  }
}

describe("chain transactions", () => {
  const relayer = demoAccount("relayer");
  const anchorer = demoAccount("anchorer");
  let chain: InProcessChain;
  let deployment: Deployment;
  let database: TestDatabase;
  let dataSource: DataSource;
  let locks: LockService;
  let registry: Contract;
  let ledger: Contract;
  let snapshot: string;
  let logger: MemoryLogger;
  const managers: TransactionManager[] = [];

  const manager = (privateKey = relayer.privateKey, confirmations = 0) => {
    const m = new TransactionManager({ provider: chain.provider, dataSource, locks, privateKey, confirmations, timing: FAST, logger });
    managers.push(m);
    return m;
  };
  /** A request that never depends on chain state: a zero-value transfer to the relayer itself. */
  const ping = (ref?: string) => ({ to: relayer.address, data: "0x", kind: "test.ping", ref });
  const anchor = (batchId: number, firstSeq: number, lastSeq: number) => ({
    to: deployment.contracts.AccessLedger.address,
    data: ledger.interface.encodeFunctionData("anchor", [batchId, hexlify(randomBytes(32)), firstSeq, lastSeq]),
    kind: "ledger.anchor",
    ref: String(batchId),
  });
  const rows = () => dataSource.getRepository(ChainTransactionEntity).find({ order: { id: "ASC" } });
  const row = async (id: number) => (await dataSource.getRepository(ChainTransactionEntity).findOneBy({ id }))!;
  const nonceOf = (address: string, tag: "latest" | "pending" = "latest") => chain.provider.getTransactionCount(address, tag);
  const automine = (on: boolean) => chain.raw.request({ method: "evm_setAutomine", params: [on] });

  beforeAll(async () => {
    chain = await inProcessChain();
    ({ deployment } = await deployContracts(chain.signers[0], "hardhat", {
      relayers: [relayer.address],
      anchorers: [anchorer.address],
    }));
    registry = contractAt(deployment, "ConsentRegistry", chain.provider);
    ledger = contractAt(deployment, "AccessLedger", chain.provider);
    database = await testDatabase();
    dataSource = await new DataSource({ ...dataSourceOptions(database.settings), entities: [ChainTransactionEntity] }).initialize();
    locks = new LockService(database.settings);
  });

  afterAll(async () => {
    await locks?.onModuleDestroy();
    await dataSource?.destroy();
    await database?.drop();
  });

  beforeEach(async () => {
    snapshot = await chain.snapshot();
    logger = new MemoryLogger();
  });

  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.stop()));
    await dataSource.query("DELETE FROM chain_transactions");
    await automine(true);
    await chain.revert(snapshot);
  });

  it("records a request created → sent → mined → confirmed after CHAIN_CONFIRMATIONS blocks", async () => {
    const m = manager(anchorer.privateKey, 2);
    const states: ChainTransactionState[] = [];
    m.onChange((r) => states.at(-1) !== r.state && states.push(r.state));
    const request = anchor(1, 1, 10);

    const tx = await m.submit(request);
    expect(tx.hash).toMatch(/^0x[0-9a-f]{64}$/);
    const mined = await tx.wait();
    const receipt = (await chain.provider.getTransactionReceipt(tx.hash!))!;
    expect(mined).toEqual({
      hash: tx.hash,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      gasUsed: receipt.gasUsed,
      state: "mined",
    });
    await expect(tx.wait({ confirmed: true, timeoutMs: 150 })).rejects.toBeInstanceOf(TransactionTimeoutError);

    await chain.mine(1);
    // The monitor reads the head once per pass while a row is mined but unconfirmed.
    await afterCalls(jest.spyOn(chain.provider, "getBlockNumber"));
    expect((await row(tx.id)).state).toBe("mined");
    await chain.mine(1);
    expect(await tx.wait({ confirmed: true })).toMatchObject({ hash: tx.hash, state: "confirmed" });

    expect(states).toEqual(["created", "sent", "mined", "confirmed"]);
    expect(await row(tx.id)).toMatchObject({
      signer: anchorer.address,
      kind: "ledger.anchor",
      ref: "1",
      to: deployment.contracts.AccessLedger.address,
      data: request.data,
      value: "0",
      nonce: (await chain.provider.getTransaction(tx.hash!))!.nonce,
      hash: tx.hash,
      state: "confirmed",
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      gasUsed: Number(receipt.gasUsed),
      attempts: 1,
      failure: null,
      lastError: null,
    });
    expect((await row(tx.id)).rawTx).toMatch(/^0x02/);
    expect(await ledger.batchCount()).toBe(1n);
    // One line per attempt, and calldata never reaches the logs.
    expect(logger.about(tx.id, "Chain transaction attempt")).toHaveLength(1);
    expect(JSON.stringify(logger.lines)).not.toContain(request.data.slice(10));
  });

  it("starts from the pending nonce when the key already sent transactions elsewhere", async () => {
    await automine(false);
    const elsewhere = new Wallet(relayer.privateKey, chain.provider);
    await elsewhere.sendTransaction({ to: elsewhere.address, value: 1 });
    await elsewhere.sendTransaction({ to: elsewhere.address, value: 2 });
    const latest = await nonceOf(relayer.address);
    expect(await nonceOf(relayer.address, "pending")).toBe(latest + 2);

    const tx = await manager().submit(ping());
    expect(tx.nonce).toBe(latest + 2);
    await chain.mine();
    expect((await tx.wait({ confirmed: true })).state).toBe("confirmed");
    expect(await nonceOf(relayer.address)).toBe(latest + 3);
  });

  it("fails a reverting request with the decoded error, without retrying or sending anything", async () => {
    const m = manager();
    const unknownId = hexlify(randomBytes(32));
    const before = await nonceOf(relayer.address, "pending");
    const estimate = jest.spyOn(chain.provider, "estimateGas");
    const broadcast = jest.spyOn(chain.provider, "broadcastTransaction");
    try {
      const request = {
        to: deployment.contracts.ConsentRegistry.address,
        data: registry.interface.encodeFunctionData("revoke", [unknownId]),
        kind: "consent.revoke",
        ref: unknownId,
      };
      const error = await m.submit(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransactionRevertedError);
      expect(error).toMatchObject({ errorName: "ConsentNotFound", errorArgs: [unknownId], retryable: false });
      expect(estimate).toHaveBeenCalledTimes(1);
      expect(broadcast).not.toHaveBeenCalled();
    } finally {
      estimate.mockRestore();
      broadcast.mockRestore();
    }
    expect(await nonceOf(relayer.address, "pending")).toBe(before);

    const stored = (await m.findByRef("consent.revoke", unknownId))!;
    expect(stored.state).toBe("failed");
    expect(stored.hash).toBeUndefined();
    expect(await row(stored.id)).toMatchObject({ failure: "reverted", attempts: 1, nonce: null });
    // The error is rebuilt from the row for anyone waiting later.
    await expect(stored.wait()).rejects.toMatchObject({ name: "TransactionRevertedError", errorName: "ConsentNotFound" });

    // The nonce it did not use goes to the next request.
    expect((await m.submit(ping())).nonce).toBe(before);
  });

  it("gives concurrent requests consecutive nonces and confirms them all", async () => {
    const m = manager();
    const start = await nonceOf(relayer.address, "pending");
    const txs = await Promise.all(Array.from({ length: 6 }, (_, i) => m.submit(ping(`p${i}`))));
    expect(txs.map((t) => t.nonce).sort((a, b) => a! - b!)).toEqual([0, 1, 2, 3, 4, 5].map((i) => start + i));
    const outcomes = await Promise.all(txs.map((t) => t.wait({ confirmed: true })));
    expect(outcomes.every((o) => o.state === "confirmed")).toBe(true);
    expect(await nonceOf(relayer.address)).toBe(start + 6);
  });

  it(`keeps at most TX_MAX_IN_FLIGHT (${TX_MAX_IN_FLIGHT}) transactions unmined per signer`, async () => {
    await automine(false);
    const m = manager();
    const submitted = Array.from({ length: TX_MAX_IN_FLIGHT + 2 }, (_, i) => m.submit(ping(`q${i}`)));
    const count = async (state: ChainTransactionState) => (await rows()).filter((r) => r.state === state).length;
    await eventually(async () => (await count("sent")) === TX_MAX_IN_FLIGHT);
    await afterCalls(jest.spyOn(chain.provider, "getBlockNumber"));
    expect(await count("sent")).toBe(TX_MAX_IN_FLIGHT);
    expect(await count("created")).toBe(2);

    await chain.mine();
    // The last two go out once the first eight are mined; each submit resolves once its broadcast did.
    const txs = await Promise.all(submitted);
    await chain.mine();
    const outcomes = await Promise.all(txs.map((t) => t.wait()));
    expect(new Set(outcomes.map((o) => o.hash)).size).toBe(TX_MAX_IN_FLIGHT + 2);
    // The first block held exactly the eight in flight; the other two were only sent after it.
    const perBlock = new Map<number, number>();
    for (const o of outcomes) perBlock.set(o.blockNumber, (perBlock.get(o.blockNumber) ?? 0) + 1);
    expect([...perBlock.entries()].sort(([a], [b]) => a - b).map(([, n]) => n)).toEqual([TX_MAX_IN_FLIGHT, 2]);
  });

  it("retries a chain outage with backoff, one log line per attempt", async () => {
    const m = manager();
    const outage = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
    const estimate = jest.spyOn(chain.provider, "estimateGas").mockRejectedValueOnce(outage).mockRejectedValueOnce(outage);
    try {
      const tx = await m.submit(ping());
      expect((await tx.wait({ confirmed: true })).state).toBe("confirmed");
      expect(estimate).toHaveBeenCalledTimes(3);
      expect((await row(tx.id)).attempts).toBe(3);
      const attempts = logger.about(tx.id, "Chain transaction attempt");
      expect(attempts.map((l) => [l.attempt, l.outcome])).toEqual([
        [1, "retry"],
        [2, "retry"],
        [3, "sent"],
      ]);
      expect(attempts[0].retryInMs).toBeLessThan(attempts[1].retryInMs as number);
    } finally {
      estimate.mockRestore();
    }
  });

  it("re-reads the nonce from the chain when another sender took the one it had", async () => {
    const m = manager();
    const first = await m.submit(ping());
    // The same key sends from elsewhere; the manager's local counter is now stale.
    await (await new Wallet(relayer.privateKey, chain.provider).sendTransaction({ to: relayer.address, value: 1 })).wait();
    const second = await m.submit(ping());
    expect(second.nonce).toBe(first.nonce! + 2);
    expect((await second.wait({ confirmed: true })).state).toBe("confirmed");
    expect(logger.about(second.id, "Chain transaction attempt").map((l) => l.outcome)).toEqual(["requeued", "sent"]);
  });

  it("fails a transaction whose receipt says it reverted", async () => {
    // A second anchorer anchors the same batch first, with a higher tip, in the same block.
    const rival = Wallet.createRandom(chain.provider);
    await (await chain.signers[0].sendTransaction({ to: rival.address, value: 10n ** 18n })).wait();
    await (await contractAt(deployment, "AccessLedger", chain.signers[0]).grantRole(ROLES.anchorer, rival.address)).wait();
    await automine(false);
    const tx = await manager(anchorer.privateKey).submit(anchor(1, 1, 10));
    const ours = (await chain.provider.getTransaction(tx.hash!))!;
    // An explicit gas limit: estimating against the pending block would already see our anchor.
    await contractAt(deployment, "AccessLedger", rival).anchor(1, hexlify(randomBytes(32)), 1, 10, {
      gasLimit: 200_000,
      maxFeePerGas: ours.maxFeePerGas! * 2n,
      maxPriorityFeePerGas: ours.maxPriorityFeePerGas! * 2n,
    });
    await chain.mine();
    await expect(tx.wait()).rejects.toMatchObject({ name: "TransactionRevertedError", errorName: undefined });
    expect(await row(tx.id)).toMatchObject({ state: "failed", failure: "reverted", hash: tx.hash });
  });

  it("detects a replaced transaction and sends the request again", async () => {
    await automine(false);
    const m = manager();
    const tx = await m.submit(ping("r1"));
    const ours = (await chain.provider.getTransaction(tx.hash!))!;
    // The same key spends the same nonce on something else, paying more, and that one is mined.
    const other = await new Wallet(relayer.privateKey, chain.provider).sendTransaction({
      to: anchorer.address,
      value: 1,
      nonce: tx.nonce,
      gasLimit: 21_000,
      maxFeePerGas: ours.maxFeePerGas! * 2n,
      maxPriorityFeePerGas: ours.maxPriorityFeePerGas! * 2n,
    });
    await chain.mine();
    const replaced = await eventually(async () => {
      const r = await row(tx.id);
      return r.state === "replaced" && r;
    });
    await automine(true);
    await chain.mine();

    const [originalHash, originalNonce] = [tx.hash, tx.nonce!];
    const outcome = await tx.wait();
    expect(outcome.hash).not.toBe(originalHash);
    expect(tx.hash).toBe(outcome.hash); // The handle follows the request to its new transaction.
    expect((await chain.provider.getTransactionReceipt(other.hash))!.status).toBe(1);
    const resubmitted = await row(replaced.replacedBy!);
    expect(resubmitted).toMatchObject({ kind: "test.ping", ref: "r1", data: "0x", hash: outcome.hash, nonce: originalNonce + 1 });
    expect((await m.findByRef("test.ping", "r1"))!.id).toBe(resubmitted.id);
  });

  it("re-sends a transaction the node dropped, byte for byte", async () => {
    await automine(false);
    const m = manager();
    const start = await nonceOf(relayer.address);
    const tx = await m.submit(ping());
    await chain.raw.request({ method: "hardhat_dropTransaction", params: [tx.hash] });
    expect(await chain.provider.getTransaction(tx.hash!)).toBeNull();

    await eventually(() => chain.provider.getTransaction(tx.hash!));
    await chain.mine();
    expect((await tx.wait()).hash).toBe(tx.hash);
    expect((await row(tx.id)).attempts).toBe(2);
    expect(logger.about(tx.id, "Chain transaction rebroadcast")).toHaveLength(1);
    expect(await nonceOf(relayer.address)).toBe(start + 1);
  });

  it("resumes a sent row after a restart without sending it again", async () => {
    await automine(false);
    const first = manager();
    const start = await nonceOf(relayer.address);
    const tx = await first.submit(ping("restart"));
    await first.stop();

    const broadcast = jest.spyOn(chain.provider, "broadcastTransaction");
    try {
      const second = manager();
      second.start();
      await eventually(async () => second.isWriter);
      await afterCalls(jest.spyOn(chain.provider, "getBlockNumber"));
      expect(broadcast).not.toHaveBeenCalled();
      await chain.mine();
      const resumed = (await second.findByRef("test.ping", "restart"))!;
      expect((await resumed.wait()).hash).toBe(tx.hash);
    } finally {
      broadcast.mockRestore();
    }
    expect(await rows()).toHaveLength(1);
    expect(await nonceOf(relayer.address)).toBe(start + 1);
  });

  it("resumes a sent row the node forgot while no writer ran, with the same signed bytes", async () => {
    await automine(false);
    const first = manager();
    const tx = await first.submit(ping());
    await first.stop();
    await chain.raw.request({ method: "hardhat_dropTransaction", params: [tx.hash] });

    const second = manager();
    second.start();
    await eventually(() => chain.provider.getTransaction(tx.hash!));
    await chain.mine();
    expect((await (await second.get(tx.id))!.wait()).hash).toBe(tx.hash);
  });

  it("sends only while holding the signer's lock; a request made elsewhere waits for the writer", async () => {
    // Another instance (another session on PostgreSQL) is the relayer's writer.
    const otherInstance = onPostgres ? new LockService(database.settings) : locks;
    const held = (await otherInstance.tryAcquire(SIGNER_LOCK_PREFIX + relayer.address))!;
    expect(held).not.toBeNull();
    const m = manager();
    const before = await nonceOf(relayer.address, "pending");
    const submitted = m.submit(ping());
    // Two attempts at the lock, both refused.
    await afterCalls(jest.spyOn(locks, "tryAcquire"));
    expect(m.isWriter).toBe(false);
    expect((await rows()).map((r) => r.state)).toEqual(["created"]);
    expect(await nonceOf(relayer.address, "pending")).toBe(before);

    await held.release();
    const tx = await submitted;
    expect(m.isWriter).toBe(true);
    expect((await tx.wait({ confirmed: true })).state).toBe("confirmed");
    if (otherInstance !== locks) await otherInstance.onModuleDestroy();
  });

  describe("TransactionService", () => {
    // Its managers log through Nest's default logger; keep test output to failures.
    beforeAll(() => Logger.overrideLogger(["error"]));
    afterAll(() => Logger.overrideLogger(["fatal", "error", "warn", "log", "debug", "verbose"]));

    const service = (keys: Partial<AppConfig>) =>
      new TransactionService(chain.provider, dataSource, locks, Object.assign(new AppConfig(), keys));

    it("builds one manager per configured signer and refuses an unconfigured one", async () => {
      const txs = service({ RELAYER_PRIVATE_KEY: relayer.privateKey });
      try {
        expect(txs.forSigner("relayer").address).toBe(relayer.address);
        expect(txs.forSigner("relayer")).toBe(txs.forSigner("relayer"));
        let problem: unknown;
        try {
          txs.forSigner("anchorer");
        } catch (error) {
          problem = error;
        }
        expect(problem).toBeInstanceOf(Problem);
        expect((problem as Problem).toBody()).toMatchObject({ type: "urn:consentry:problem:signer-not-configured", status: 503 });
      } finally {
        await txs.onModuleDestroy();
      }
    });

    it("resumes a signer with unfinished requests at boot", async () => {
      const queued = await dataSource.getRepository(ChainTransactionEntity).save({
        signer: relayer.address,
        kind: "test.ping",
        ref: "boot",
        to: relayer.address,
        data: "0x",
        value: "0",
        state: "created",
      });
      const txs = service({ RELAYER_PRIVATE_KEY: relayer.privateKey, ANCHORER_PRIVATE_KEY: anchorer.privateKey });
      try {
        await txs.onApplicationBootstrap();
        const outcome = await (await txs.forSigner("relayer").get(queued.id))!.wait({ timeoutMs: 10_000 });
        expect(outcome.hash).toMatch(/^0x/);
      } finally {
        await txs.onModuleDestroy();
      }
    });
  });
});

describe("LockService", () => {
  let database: TestDatabase;
  let locks: LockService;

  beforeAll(async () => {
    database = await testDatabase();
    locks = new LockService(database.settings);
  });

  afterAll(async () => {
    await locks.onModuleDestroy();
    await database.drop();
  });

  it("refuses a second lease on a held name until it is released", async () => {
    const name = SIGNER_LOCK_PREFIX + ZeroHash;
    const lease = (await locks.tryAcquire(name))!;
    expect(lease.held).toBe(true);
    expect(await locks.tryAcquire(name)).toBeNull();
    const other = await locks.tryAcquire(name + "-other");
    expect(other).not.toBeNull();
    await other!.release();
    await lease.release();
    expect(lease.held).toBe(false);
    const again = await locks.tryAcquire(name);
    expect(again).not.toBeNull();
    await again!.release();
  });

  it("waits for a held lock in acquire, up to its timeout", async () => {
    const lease = (await locks.tryAcquire("acquire-test"))!;
    await expect(locks.acquire("acquire-test", { timeoutMs: 100 })).rejects.toBeInstanceOf(LockTimeoutError);
    setTimeout(() => void lease.release(), 100);
    const next = await locks.acquire("acquire-test", { timeoutMs: 5_000 });
    expect(next.held).toBe(true);
    await next.release();
  });

  (onPostgres ? it : it.skip)("excludes other sessions and reports a lease lost when its session dies", async () => {
    const otherInstance = new LockService(database.settings);
    try {
      const lease = (await locks.tryAcquire("session-test"))!;
      expect(await otherInstance.tryAcquire("session-test")).toBeNull();

      const admin = new Client({ connectionString: database.settings.DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_locks
            WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
      } finally {
        await admin.end();
      }
      await lease.lost;
      expect(lease.held).toBe(false);
      const taken = await eventually(async () => (await otherInstance.tryAcquire("session-test")) ?? undefined);
      expect(taken.held).toBe(true);
    } finally {
      await otherInstance.onModuleDestroy();
    }
  });
});
