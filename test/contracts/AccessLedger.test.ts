import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import fc from "fast-check";
import { Contract, ZeroHash, dataSlice, id, type ContractRunner, type ContractTransactionReceipt } from "ethers";
import { ADMIN_DELAY, deployFixture, deployTestContract, type Accounts, type ContractsFixture } from "./fixture";
import { gasReportDifferences, UPDATE_GAS_REPORT, writeGasFigures } from "./gas-report";
import { expectEvent, expectNoEvent, expectRevert, mined } from "./helpers";

const ADMIN_ROLE = ZeroHash;
const ANCHORER_ROLE = id("ANCHORER_ROLE");
const MAX_BATCH_EVENTS = 100_000n;
const UINT64_MAX = 2n ** 64n - 1n;

/** IAccessLedger.BatchStatus. */
const Status = { Anchored: 0n, Void: 1n, Superseded: 2n } as const;

/** Trail format 2's leaf types (docs/access-trail.md), in leaf order. */
const LEAF_TYPES = [
  "uint64", // seq
  "bytes16", // id
  "uint64", // time
  "address", // actor
  "address", // requester
  "address", // patient
  "uint8", // action
  "uint256", // categories
  "uint256", // purposes
  "uint8", // decision
  "bytes32", // consentId
  "bytes32", // requestHash
  "bytes32", // prevHash
];
type AccessLeaf = [bigint, string, bigint, string, string, string, number, bigint, bigint, number, string, string, string];

/** The anchor budget: at most 60,000 gas in every call, whatever the batch size. */
const ANCHOR_GAS_BUDGET = 60_000n;

/** Upper bounds on gas, about 5% above the measured figures; a figure above its ceiling is a regression. */
const GAS_CEILINGS = {
  "anchor.first": 60_000,
  "anchor.subsequent": 60_000,
  "anchor.1event": 60_000,
  "anchor.1000events": 60_000,
  "anchor.maxEvents": 60_000,
  voidBatch: 58_000,
  "voidBatch.reopen": 61_000,
  supersede: 65_000,
  "verifyEvent.1000events": 45_000,
  "grantRole.anchorer": 58_000,
  "revokeRole.anchorer": 32_000,
} as const;
type GasKey = keyof typeof GAS_CEILINGS;

/** A made-up access event with sequence number `seq`, linked to `prevHash`. */
function accessLeaf(seq: bigint, prevHash: string = ZeroHash): AccessLeaf {
  const h = (label: string) => id(`${label} ${seq}`);
  const address = (label: string) => dataSlice(h(label), 12);
  return [
    seq,
    dataSlice(h("id"), 0, 16),
    1_767_225_600_000n + seq,
    address("actor"),
    address("requester"),
    address("patient"),
    Number(seq % 7n) + 1,
    seq % 4096n,
    seq % 128n,
    Number(seq % 8n),
    h("consent"),
    h("request"),
    prevHash,
  ];
}

/** Events `firstSeq..lastSeq`, each linked to the one before. */
function accessLeaves(firstSeq: bigint, lastSeq: bigint): AccessLeaf[] {
  const leaves: AccessLeaf[] = [];
  for (let seq = firstSeq; seq <= lastSeq; seq++) leaves.push(accessLeaf(seq, id(`leaf ${seq - 1n}`)));
  return leaves;
}

function treeOf(leaves: AccessLeaf[]): StandardMerkleTree<AccessLeaf> {
  return StandardMerkleTree.of(leaves, LEAF_TYPES);
}

describe("AccessLedger", () => {
  let fixture: ContractsFixture;
  let ledger: Contract;
  let accounts: Accounts;
  let snapshotId: string;
  const gasUsed: Partial<Record<GasKey, bigint>> = {};

  beforeAll(async () => {
    fixture = await deployFixture();
    ({ ledger, accounts } = fixture);
  });

  beforeEach(async () => {
    snapshotId = await fixture.chain.snapshot();
  });

  afterEach(async () => {
    await fixture.chain.revert(snapshotId);
  });

  afterAll(async () => {
    // Only UPDATE_GAS_REPORT=1 rewrites the report, and only after a full run, so a filtered run (`-t`) cannot drop figures.
    if (UPDATE_GAS_REPORT && Object.keys(GAS_CEILINGS).every((key) => gasUsed[key as GasKey] !== undefined)) {
      await writeGasFigures("AccessLedger", gasUsed as Record<GasKey, bigint>);
    }
  });

  function as(runner: ContractRunner, contract: Contract = ledger): Contract {
    return contract.connect(runner) as Contract;
  }

  function anchor(batchId: bigint, root: string, firstSeq: bigint, lastSeq: bigint, on: Contract = ledger): Promise<ContractTransactionReceipt> {
    return mined(as(accounts.anchorer, on).anchor(batchId, root, firstSeq, lastSeq));
  }

  /** Anchors batch 1 = events 1..10 and returns its tree. */
  async function anchorFirstBatch(): Promise<StandardMerkleTree<AccessLeaf>> {
    const tree = treeOf(accessLeaves(1n, 10n));
    await anchor(1n, tree.root, 1n, 10n);
    return tree;
  }

  async function headOf(on: Contract = ledger): Promise<[bigint, bigint, bigint]> {
    const h = await on.head();
    return [h.batchCount, h.nextSeq, h.lastAnchorBlock];
  }

  async function batchOf(batchId: bigint, firstSeq: bigint, lastSeq: bigint): Promise<[string, bigint, bigint]> {
    const b = await ledger.getBatch(batchId, firstSeq, lastSeq);
    return [b.root, b.status, b.supersededBy];
  }

  function voidBatch(batchId: bigint, firstSeq: bigint, lastSeq: bigint, reason = id("wrong root")): Promise<ContractTransactionReceipt> {
    return mined(ledger.voidBatch(batchId, firstSeq, lastSeq, reason));
  }

  it("reports version 2.0.0", async () => {
    expect(await ledger.version()).toBe("2.0.0");
  });

  it("starts with no batches, the next sequence number 1 and no anchor block", async () => {
    expect(await ledger.batchCount()).toBe(0n);
    expect(await ledger.nextSeq()).toBe(1n);
    expect(await headOf()).toEqual([0n, 1n, 0n]);
    expect(await ledger.MAX_BATCH_EVENTS()).toBe(MAX_BATCH_EVENTS);
  });

  it("gives the admin DEFAULT_ADMIN_ROLE with a transfer delay and the anchorer ANCHORER_ROLE", async () => {
    expect(await ledger.defaultAdmin()).toBe(accounts.admin.address);
    expect(await ledger.defaultAdminDelay()).toBe(BigInt(ADMIN_DELAY));
    expect(await ledger.hasRole(ANCHORER_ROLE, accounts.anchorer.address)).toBe(true);
    expect(await ledger.hasRole(ANCHORER_ROLE, accounts.relayer.address)).toBe(false);
    expect(await ledger.getRoleAdmin(ANCHORER_ROLE)).toBe(ADMIN_ROLE);
  });

  describe("anchor", () => {
    it("stores the root under its range, records the block and emits BatchAnchored", async () => {
      const tree = treeOf(accessLeaves(1n, 10n));
      const receipt = await anchor(1n, tree.root, 1n, 10n);

      expectEvent(receipt, ledger, "BatchAnchored", [1n, tree.root, 1n, 10n]);
      expect(await batchOf(1n, 1n, 10n)).toEqual([tree.root, Status.Anchored, 0n]);
      expect(await ledger.batchStatus(1n)).toEqual([Status.Anchored, 0n]);
      expect(await headOf()).toEqual([1n, 11n, BigInt(receipt.blockNumber)]);
    });

    it("advances batchCount and nextSeq with every batch", async () => {
      await anchorFirstBatch();
      expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([1n, 11n]);

      const second = treeOf(accessLeaves(11n, 11n));
      const receipt = await anchor(2n, second.root, 11n, 11n);
      expectEvent(receipt, ledger, "BatchAnchored", [2n, second.root, 11n, 11n]);
      expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([2n, 12n]);

      const third = treeOf(accessLeaves(12n, 40n));
      await anchor(3n, third.root, 12n, 40n);
      expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([3n, 41n]);
      expect((await batchOf(2n, 11n, 11n))[0]).toBe(second.root);
      expect((await batchOf(3n, 12n, 40n))[0]).toBe(third.root);
    });

    it("accepts a batch from an anchorer added later by the admin", async () => {
      await mined(ledger.grantRole(ANCHORER_ROLE, accounts.relayer.address));
      const tree = treeOf(accessLeaves(1n, 2n));
      await mined(as(accounts.relayer).anchor(1n, tree.root, 1n, 2n));
      expect(await ledger.batchCount()).toBe(1n);
    });

    it("reverts when the caller lacks ANCHORER_ROLE", async () => {
      const tree = treeOf(accessLeaves(1n, 10n));
      for (const caller of [accounts.stranger, accounts.admin, accounts.relayer]) {
        await expectRevert(as(caller).anchor(1n, tree.root, 1n, 10n), ledger, "AccessControlUnauthorizedAccount", [
          caller.address,
          ANCHORER_ROLE,
        ]);
      }
    });

    it("reverts when the anchorer's role was revoked", async () => {
      await mined(ledger.revokeRole(ANCHORER_ROLE, accounts.anchorer.address));
      const tree = treeOf(accessLeaves(1n, 10n));
      await expectRevert(as(accounts.anchorer).anchor(1n, tree.root, 1n, 10n), ledger, "AccessControlUnauthorizedAccount", [
        accounts.anchorer.address,
        ANCHORER_ROLE,
      ]);
    });

    it.each([
      ["batch id 0 comes first", 0n],
      ["the first batch skips id 1", 2n],
    ])("reverts when %s", async (_, batchId) => {
      const tree = treeOf(accessLeaves(1n, 10n));
      await expectRevert(as(accounts.anchorer).anchor(batchId, tree.root, 1n, 10n), ledger, "BatchOutOfOrder", [
        1n,
        batchId,
      ]);
    });

    it.each([
      ["the batch id is anchored again", 1n],
      ["the batch id skips the next one", 3n],
    ])("reverts when %s", async (_, batchId) => {
      await anchorFirstBatch();
      const tree = treeOf(accessLeaves(11n, 20n));
      await expectRevert(as(accounts.anchorer).anchor(batchId, tree.root, 11n, 20n), ledger, "BatchOutOfOrder", [
        2n,
        batchId,
      ]);
    });

    it.each([
      ["the first batch starts at 0", 0n, 10n],
      ["the first batch starts after 1", 2n, 10n],
    ])("reverts when %s", async (_, firstSeq, lastSeq) => {
      const tree = treeOf(accessLeaves(1n, 10n));
      await expectRevert(
        as(accounts.anchorer).anchor(1n, tree.root, firstSeq, lastSeq),
        ledger,
        "RangeNotContiguous",
        [1n, firstSeq],
      );
    });

    it.each([
      ["the range leaves a gap", 12n, 20n],
      ["the range overlaps the previous batch", 10n, 20n],
      ["the range starts inside the previous batch", 5n, 20n],
      ["the range duplicates the previous batch", 1n, 10n],
    ])("reverts when %s", async (_, firstSeq, lastSeq) => {
      await anchorFirstBatch();
      const tree = treeOf(accessLeaves(firstSeq, lastSeq));
      await expectRevert(
        as(accounts.anchorer).anchor(2n, tree.root, firstSeq, lastSeq),
        ledger,
        "RangeNotContiguous",
        [11n, firstSeq],
      );
    });

    it.each([
      ["the range is reversed on the first batch", 1n, 1n, 0n],
      ["the range is reversed on a later batch", 2n, 11n, 10n],
    ])("reverts when %s", async (_, batchId, firstSeq, lastSeq) => {
      if (batchId === 2n) await anchorFirstBatch();
      await expectRevert(
        as(accounts.anchorer).anchor(batchId, id("some root"), firstSeq, lastSeq),
        ledger,
        "InvalidRange",
        [firstSeq, lastSeq],
      );
    });

    it("reverts when the root is zero", async () => {
      await expectRevert(as(accounts.anchorer).anchor(1n, ZeroHash, 1n, 10n), ledger, "InvalidRoot");
    });

    it("accepts a batch of exactly MAX_BATCH_EVENTS events", async () => {
      await anchor(1n, id("root"), 1n, MAX_BATCH_EVENTS);
      expect(await ledger.nextSeq()).toBe(MAX_BATCH_EVENTS + 1n);
    });

    it("reverts when the batch holds one event more than MAX_BATCH_EVENTS", async () => {
      await expectRevert(
        as(accounts.anchorer).anchor(1n, id("root"), 1n, MAX_BATCH_EVENTS + 1n),
        ledger,
        "BatchTooLarge",
        [1n, MAX_BATCH_EVENTS + 1n, MAX_BATCH_EVENTS],
      );
    });

    it("rejects the call that bricked v1, and the ledger carries on (regression)", async () => {
      // v1 accepted anchor(1, root, 1, 2^64 − 2); nextSeq became 2^64 − 1 and every later anchor reverted with
      // an arithmetic overflow (Panic 0x11).
      await expectRevert(as(accounts.anchorer).anchor(1n, id("root"), 1n, UINT64_MAX - 1n), ledger, "BatchTooLarge", [
        1n,
        UINT64_MAX - 1n,
        MAX_BATCH_EVENTS,
      ]);
      expect(await headOf()).toEqual([0n, 1n, 0n]);
      const tree = await anchorFirstBatch();
      expect(await batchOf(1n, 1n, 10n)).toEqual([tree.root, Status.Anchored, 0n]);
      await anchor(2n, id("root 2"), 11n, 20n);
      expect(await ledger.nextSeq()).toBe(21n);
    });

    it("checks the batch id, then contiguity, then the range, then the size, then the root", async () => {
      await expectRevert(as(accounts.anchorer).anchor(2n, ZeroHash, 5n, 1n), ledger, "BatchOutOfOrder", [1n, 2n]);
      await expectRevert(as(accounts.anchorer).anchor(1n, ZeroHash, 5n, 1n), ledger, "RangeNotContiguous", [1n, 5n]);
      await expectRevert(as(accounts.anchorer).anchor(1n, ZeroHash, 1n, 0n), ledger, "InvalidRange", [1n, 0n]);
      await expectRevert(as(accounts.anchorer).anchor(1n, ZeroHash, 1n, UINT64_MAX), ledger, "InvalidRange", [1n, UINT64_MAX]);
      await expectRevert(as(accounts.anchorer).anchor(1n, ZeroHash, 1n, UINT64_MAX - 1n), ledger, "BatchTooLarge", [
        1n,
        UINT64_MAX - 1n,
        MAX_BATCH_EVENTS,
      ]);
    });

    it("leaves the ledger unchanged when a batch is rejected", async () => {
      await anchorFirstBatch();
      const before = await headOf();
      await expectRevert(as(accounts.anchorer).anchor(2n, ZeroHash, 11n, 20n), ledger, "InvalidRoot");
      expect(await headOf()).toEqual(before);
      await expectRevert(ledger.getBatch(2n, 11n, 20n), ledger, "BatchNotFound", [2n]);
    });
  });

  describe("at the top of the uint64 range", () => {
    let harness: Contract;

    beforeEach(async () => {
      harness = await deployTestContract(accounts.admin, "AccessLedgerHarness", ADMIN_DELAY, accounts.admin.address);
      await mined(harness.grantRole(ANCHORER_ROLE, accounts.anchorer.address));
    });

    it("accepts a batch ending at 2^64 − 2, then reverts with InvalidRange rather than overflowing", async () => {
      await mined(harness.setNextSeq(UINT64_MAX - 10n));
      await anchor(1n, id("root"), UINT64_MAX - 10n, UINT64_MAX - 1n, harness);
      expect(await harness.nextSeq()).toBe(UINT64_MAX);
      await expectRevert(as(accounts.anchorer, harness).anchor(2n, id("root"), UINT64_MAX, UINT64_MAX), harness, "InvalidRange", [
        UINT64_MAX,
        UINT64_MAX,
      ]);
      expect(await headOf(harness)).toEqual([1n, UINT64_MAX, expect.any(BigInt)]);
    });

    it("reverts with InvalidRange for a batch ending at 2^64 − 1", async () => {
      await mined(harness.setNextSeq(UINT64_MAX - 10n));
      await expectRevert(as(accounts.anchorer, harness).anchor(1n, id("root"), UINT64_MAX - 10n, UINT64_MAX), harness, "InvalidRange", [
        UINT64_MAX - 10n,
        UINT64_MAX,
      ]);
    });

    it("reopens the last range at the top when its batch is voided", async () => {
      await mined(harness.setNextSeq(UINT64_MAX - 10n));
      await anchor(1n, id("root"), UINT64_MAX - 10n, UINT64_MAX - 1n, harness);
      await mined(harness.voidBatch(1n, UINT64_MAX - 10n, UINT64_MAX - 1n, id("reason")));
      expect(await harness.nextSeq()).toBe(UINT64_MAX - 10n);
      await anchor(2n, id("root 2"), UINT64_MAX - 10n, UINT64_MAX - 5n, harness);
      expect(await harness.nextSeq()).toBe(UINT64_MAX - 4n);
    });
  });

  describe("getBatch and batchStatus", () => {
    it.each([
      ["batch 0", 0n],
      ["the next batch id", 2n],
      ["a far-off batch id", 1_000_000n],
    ])("revert with BatchNotFound when asked for %s", async (_, batchId) => {
      await anchorFirstBatch();
      await expectRevert(ledger.getBatch(batchId, 1n, 10n), ledger, "BatchNotFound", [batchId]);
      await expectRevert(ledger.batchStatus(batchId), ledger, "BatchNotFound", [batchId]);
    });

    it.each([
      ["a shorter range", 1n, 9n],
      ["a longer range", 1n, 11n],
      ["a shifted range", 2n, 10n],
      ["the next batch's range", 11n, 20n],
    ])("reverts with BatchRangeMismatch when asked with %s", async (_, firstSeq, lastSeq) => {
      await anchorFirstBatch();
      await expectRevert(ledger.getBatch(1n, firstSeq, lastSeq), ledger, "BatchRangeMismatch", [1n, firstSeq, lastSeq]);
    });
  });

  describe("voidBatch", () => {
    const REASON = id("root built from a stale event");

    it("marks a batch void, keeps its root and emits BatchVoided", async () => {
      const first = await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      const receipt = await voidBatch(1n, 1n, 10n, REASON);

      expectEvent(receipt, ledger, "BatchVoided", [1n, 1n, 10n, false, REASON]);
      expect(await batchOf(1n, 1n, 10n)).toEqual([first.root, Status.Void, 0n]);
      expect(await ledger.batchStatus(1n)).toEqual([Status.Void, 0n]);
      expect(await headOf()).toEqual([2n, 21n, expect.any(BigInt)]);
    });

    it("reopens the range of the batch at the head of the ledger, so the next anchor re-covers it", async () => {
      await anchorFirstBatch();
      await anchor(2n, id("root claiming events not yet written"), 11n, 5_000n);
      const receipt = await voidBatch(2n, 11n, 5_000n);
      expectEvent(receipt, ledger, "BatchVoided", [2n, 11n, 5_000n, true, id("wrong root")]);
      expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([2n, 11n]);

      const tree = treeOf(accessLeaves(11n, 20n));
      await anchor(3n, tree.root, 11n, 20n);
      expect(await batchOf(3n, 11n, 20n)).toEqual([tree.root, Status.Anchored, 0n]);
      expect(await batchOf(2n, 11n, 5_000n)).toEqual([id("root claiming events not yet written"), Status.Void, 0n]);
    });

    it("reopens an earlier range once every batch after it was voided back to it", async () => {
      await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      await voidBatch(2n, 11n, 20n);
      const receipt = await voidBatch(1n, 1n, 10n);
      expectEvent(receipt, ledger, "BatchVoided", [1n, 1n, 10n, true, id("wrong root")]);
      expect(await ledger.nextSeq()).toBe(1n);
    });

    it("reverts when the caller is not the admin", async () => {
      await anchorFirstBatch();
      for (const caller of [accounts.anchorer, accounts.stranger, accounts.registrar]) {
        await expectRevert(as(caller).voidBatch(1n, 1n, 10n, REASON), ledger, "AccessControlUnauthorizedAccount", [
          caller.address,
          ADMIN_ROLE,
        ]);
      }
    });

    it("reverts when the batch does not exist or the range is not its own", async () => {
      await anchorFirstBatch();
      await expectRevert(ledger.voidBatch(2n, 11n, 20n, REASON), ledger, "BatchNotFound", [2n]);
      await expectRevert(ledger.voidBatch(1n, 1n, 9n, REASON), ledger, "BatchRangeMismatch", [1n, 1n, 9n]);
    });

    it("reverts when the batch is already void or superseded", async () => {
      await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      await voidBatch(1n, 1n, 10n);
      await expectRevert(ledger.voidBatch(1n, 1n, 10n, REASON), ledger, "BatchAlreadyVoid", [1n, Status.Void]);
      await mined(as(accounts.anchorer).supersede(1n, 3n, id("fixed root")));
      await expectRevert(ledger.voidBatch(1n, 1n, 10n, REASON), ledger, "BatchAlreadyVoid", [1n, Status.Superseded]);
    });
  });

  describe("supersede", () => {
    it("anchors a new batch for exactly the void batch's range and links the two", async () => {
      await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      await voidBatch(1n, 1n, 10n);
      const fixed = treeOf(accessLeaves(1n, 10n).map((leaf) => [...leaf.slice(0, 12), id("fixed")] as AccessLeaf));
      const receipt = await mined(as(accounts.anchorer).supersede(1n, 3n, fixed.root));

      expectEvent(receipt, ledger, "BatchAnchored", [3n, fixed.root, 1n, 10n]);
      expectEvent(receipt, ledger, "BatchSuperseded", [1n, 3n]);
      expect(await batchOf(1n, 1n, 10n)).toEqual([expect.any(String), Status.Superseded, 3n]);
      expect(await batchOf(3n, 1n, 10n)).toEqual([fixed.root, Status.Anchored, 0n]);
      expect(await headOf()).toEqual([3n, 21n, BigInt(receipt.blockNumber)]);
    });

    it("lets a replacement be voided and superseded in turn", async () => {
      await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      await voidBatch(1n, 1n, 10n);
      await mined(as(accounts.anchorer).supersede(1n, 3n, id("second try")));
      await voidBatch(3n, 1n, 10n);
      await mined(as(accounts.anchorer).supersede(3n, 4n, id("third try")));
      expect(await ledger.batchStatus(3n)).toEqual([Status.Superseded, 4n]);
      expect(await batchOf(4n, 1n, 10n)).toEqual([id("third try"), Status.Anchored, 0n]);
    });

    it("reverts when the caller lacks ANCHORER_ROLE", async () => {
      await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      await voidBatch(1n, 1n, 10n);
      for (const caller of [accounts.admin, accounts.stranger]) {
        await expectRevert(as(caller).supersede(1n, 3n, id("root")), ledger, "AccessControlUnauthorizedAccount", [
          caller.address,
          ANCHORER_ROLE,
        ]);
      }
    });

    it.each([
      ["anchored", async () => undefined],
      ["reopened", async (l: { void: typeof voidBatch }) => { await l.void(2n, 11n, 20n); }],
      ["already superseded", async (l: { void: typeof voidBatch; supersede: () => Promise<unknown> }) => {
        await l.void(1n, 1n, 10n);
        await l.supersede();
      }],
    ])("reverts with BatchNotReplaceable when the batch is %s", async (name, setUp) => {
      await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      await setUp({ void: voidBatch, supersede: () => mined(as(accounts.anchorer).supersede(1n, 3n, id("root"))) });
      const target = name === "reopened" ? 2n : 1n;
      const batchId = (await ledger.batchCount()) + 1n;
      await expectRevert(as(accounts.anchorer).supersede(target, batchId, id("root")), ledger, "BatchNotReplaceable", [target]);
    });

    it("reverts when the batch id is not the next one or the root is zero", async () => {
      await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      await voidBatch(1n, 1n, 10n);
      await expectRevert(as(accounts.anchorer).supersede(1n, 4n, id("root")), ledger, "BatchOutOfOrder", [3n, 4n]);
      await expectRevert(as(accounts.anchorer).supersede(1n, 3n, ZeroHash), ledger, "InvalidRoot");
    });
  });

  describe("verifyEvent", () => {
    it("computes the StandardMerkleTree leaf of a trail format 2 event", async () => {
      const tree = treeOf(accessLeaves(1n, 3n));
      for (const [, leaf] of tree.entries()) expect(await ledger.leafOf(leaf)).toBe(tree.leafHash(leaf));
    });

    it("is true for every event of the batch with its StandardMerkleTree proof", async () => {
      const tree = await anchorFirstBatch();
      for (const [index, leaf] of tree.entries()) {
        expect(await ledger.verifyEvent(1n, 1n, 10n, leaf, tree.getProof(index))).toBe(true);
      }
    });

    it("is true for a single-event batch, whose root is the leaf and whose proof is empty", async () => {
      await anchorFirstBatch();
      const [leaf] = accessLeaves(11n, 11n);
      const tree = treeOf([leaf]);
      await anchor(2n, tree.root, 11n, 11n);
      expect(tree.root).toBe(tree.leafHash(leaf));
      expect(await ledger.verifyEvent(2n, 11n, 11n, leaf, [])).toBe(true);
    });

    it("is false for an event whose leaf is in the tree but whose seq lies outside the batch's range", async () => {
      // An anchorer slipped events 11 and 12 into the tree of batch 1..10: the proof holds, the range does not.
      const tree = treeOf(accessLeaves(1n, 12n));
      await anchor(1n, tree.root, 1n, 10n);
      for (const [index, leaf] of tree.entries()) {
        expect(await ledger.verifyEvent(1n, 1n, 10n, leaf, tree.getProof(index))).toBe(leaf[0] <= 10n);
      }
    });

    it("is false for an event with one field changed", async () => {
      const tree = await anchorFirstBatch();
      const leaf = tree.at(0)!;
      for (let field = 1; field < LEAF_TYPES.length; field++) {
        const changed = [...leaf] as AccessLeaf;
        const value = changed[field];
        (changed as unknown[])[field] = typeof value === "bigint" ? value + 1n : typeof value === "number" ? value + 1 : id(`changed ${field}`).slice(0, value.length);
        expect({ field, valid: await ledger.verifyEvent(1n, 1n, 10n, changed, tree.getProof(0)) }).toEqual({ field, valid: false });
      }
    });

    it("is false for an event with another event's proof, a tampered or a truncated proof", async () => {
      const tree = await anchorFirstBatch();
      const proof = tree.getProof(0);
      expect(await ledger.verifyEvent(1n, 1n, 10n, tree.at(0)!, tree.getProof(1))).toBe(false);
      expect(await ledger.verifyEvent(1n, 1n, 10n, tree.at(0)!, [id("tampered sibling"), ...proof.slice(1)])).toBe(false);
      expect(await ledger.verifyEvent(1n, 1n, 10n, tree.at(0)!, proof.slice(0, -1))).toBe(false);
    });

    it("is false for every event with an empty proof, so the root itself proves nothing (regression)", async () => {
      // v1's verifyLeaf took a leaf hash: the root with an empty proof, and any inner node with its path, passed.
      const tree = await anchorFirstBatch();
      for (const [, leaf] of tree.entries()) expect(await ledger.verifyEvent(1n, 1n, 10n, leaf, [])).toBe(false);
    });

    it("is false for an event and proof of another batch", async () => {
      const first = await anchorFirstBatch();
      const second = treeOf(accessLeaves(11n, 20n));
      await anchor(2n, second.root, 11n, 20n);
      expect(await ledger.verifyEvent(2n, 11n, 20n, first.at(0)!, first.getProof(0))).toBe(false);
      expect(await ledger.verifyEvent(2n, 11n, 20n, second.at(0)!, second.getProof(0))).toBe(true);
    });

    it("reverts when the batch does not exist or the range is not its own", async () => {
      const tree = await anchorFirstBatch();
      await expectRevert(ledger.verifyEvent(2n, 1n, 10n, tree.at(0)!, tree.getProof(0)), ledger, "BatchNotFound", [2n]);
      await expectRevert(ledger.verifyEvent(1n, 1n, 11n, tree.at(0)!, tree.getProof(0)), ledger, "BatchRangeMismatch", [
        1n,
        1n,
        11n,
      ]);
    });

    it("reverts with BatchIsVoid for a void or superseded batch", async () => {
      const tree = await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      await voidBatch(1n, 1n, 10n);
      await expectRevert(ledger.verifyEvent(1n, 1n, 10n, tree.at(0)!, tree.getProof(0)), ledger, "BatchIsVoid", [1n, Status.Void]);
      await mined(as(accounts.anchorer).supersede(1n, 3n, tree.root));
      await expectRevert(ledger.verifyEvent(1n, 1n, 10n, tree.at(0)!, tree.getProof(0)), ledger, "BatchIsVoid", [
        1n,
        Status.Superseded,
      ]);
      expect(await ledger.verifyEvent(3n, 1n, 10n, tree.at(0)!, tree.getProof(0))).toBe(true);
    });
  });

  describe("invariants", () => {
    type Op =
      | { kind: "anchor"; size: number; skew: number; badId: boolean }
      | { kind: "void"; pick: number }
      | { kind: "supersede"; pick: number };

    interface ModelBatch {
      batchId: bigint;
      root: string;
      firstSeq: bigint;
      lastSeq: bigint;
      status: bigint;
      reopened: boolean;
      supersededBy: bigint;
    }

    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant("anchor" as const), size: fc.integer({ min: 1, max: 40 }), skew: fc.constantFrom(0, 0, 0, -1, 1), badId: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("void" as const), pick: fc.nat() }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("supersede" as const), pick: fc.nat() }) },
    );

    it("keeps every sequence number below nextSeq in exactly one valid batch or one open void, and never rewrites a root", async () => {
      let runs = 0;
      let maxAnchorGas = 0n;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 14 }), async (ops) => {
          runs++;
          const snapshot = await fixture.chain.snapshot();
          try {
            const model: ModelBatch[] = [];
            let nextSeq = 1n;
            for (const [step, op] of ops.entries()) {
              const root = id(`run ${runs} step ${step}`);
              const nextId = BigInt(model.length + 1);
              if (op.kind === "anchor") {
                const firstSeq = nextSeq + BigInt(op.skew);
                const lastSeq = firstSeq + BigInt(op.size - 1);
                const batchId = op.badId ? nextId + 1n : nextId;
                const call = as(accounts.anchorer).anchor(batchId, root, firstSeq, lastSeq);
                if (op.badId) await expectRevert(call, ledger, "BatchOutOfOrder", [nextId, batchId]);
                else if (op.skew !== 0) await expectRevert(call, ledger, "RangeNotContiguous", [nextSeq, firstSeq]);
                else {
                  const receipt = await mined(call);
                  if (receipt.gasUsed > maxAnchorGas) maxAnchorGas = receipt.gasUsed;
                  model.push({ batchId, root, firstSeq, lastSeq, status: Status.Anchored, reopened: false, supersededBy: 0n });
                  nextSeq = lastSeq + 1n;
                }
              } else if (model.length > 0) {
                const target = model[op.pick % model.length];
                if (op.kind === "void") {
                  const call = ledger.voidBatch(target.batchId, target.firstSeq, target.lastSeq, root);
                  if (target.status !== Status.Anchored) {
                    await expectRevert(call, ledger, "BatchAlreadyVoid", [target.batchId, target.status]);
                  } else {
                    await mined(call);
                    target.status = Status.Void;
                    target.reopened = target.lastSeq + 1n === nextSeq;
                    if (target.reopened) nextSeq = target.firstSeq;
                  }
                } else {
                  const call = as(accounts.anchorer).supersede(target.batchId, nextId, root);
                  if (target.status !== Status.Void || target.reopened) {
                    await expectRevert(call, ledger, "BatchNotReplaceable", [target.batchId]);
                  } else {
                    await mined(call);
                    target.status = Status.Superseded;
                    target.supersededBy = nextId;
                    model.push({ batchId: nextId, root, firstSeq: target.firstSeq, lastSeq: target.lastSeq, status: Status.Anchored, reopened: false, supersededBy: 0n });
                  }
                }
              }
            }

            // The chain agrees with the model: counters, and every root, status and link, never rewritten.
            expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([BigInt(model.length), nextSeq]);
            for (const b of model) {
              expect(await batchOf(b.batchId, b.firstSeq, b.lastSeq)).toEqual([b.root, b.status, b.supersededBy]);
            }
            // Coverage: below nextSeq, every seq lies in exactly one anchored batch, or (a hole left by a void
            // awaiting its replacement) in no anchored batch and exactly one replaceable void one; nothing anchored
            // reaches nextSeq.
            for (let seq = 1n; seq < nextSeq; seq++) {
              const holding = model.filter((b) => b.firstSeq <= seq && seq <= b.lastSeq);
              const anchored = holding.filter((b) => b.status === Status.Anchored);
              const open = holding.filter((b) => b.status === Status.Void && !b.reopened);
              const covered = anchored.length === 1 || (anchored.length === 0 && open.length === 1);
              expect({ seq, anchored: anchored.length, open: open.length, covered }).toMatchObject({ seq, covered: true });
            }
            expect(model.filter((b) => b.status === Status.Anchored && b.lastSeq >= nextSeq)).toEqual([]);
          } finally {
            await fixture.chain.revert(snapshot);
          }
        }),
        { numRuns: 40 },
      );
      expect(runs).toBe(40);
      expect(maxAnchorGas).toBeLessThanOrEqual(ANCHOR_GAS_BUDGET);
    });
  });

  describe("gas", () => {
    function record(key: GasKey, gas: bigint): void {
      gasUsed[key] = gas;
      expect(gas).toBeLessThan(BigInt(GAS_CEILINGS[key]));
      if (key.startsWith("anchor.")) expect(gas).toBeLessThanOrEqual(ANCHOR_GAS_BUDGET);
    }

    it(`anchor of the first batch stays within ${ANCHOR_GAS_BUDGET}`, async () => {
      const tree = treeOf(accessLeaves(1n, 100n));
      record("anchor.first", (await anchor(1n, tree.root, 1n, 100n)).gasUsed);
    });

    it(`anchor of a subsequent batch stays within ${ANCHOR_GAS_BUDGET}`, async () => {
      await anchor(1n, treeOf(accessLeaves(1n, 100n)).root, 1n, 100n);
      const second = treeOf(accessLeaves(101n, 200n));
      record("anchor.subsequent", (await anchor(2n, second.root, 101n, 200n)).gasUsed);
    });

    it.each([
      ["anchor.1event" as const, 1n],
      ["anchor.1000events" as const, 1_000n],
      ["anchor.maxEvents" as const, MAX_BATCH_EVENTS],
    ])(`%s stays within ${ANCHOR_GAS_BUDGET}, whatever the batch size`, async (key, events) => {
      await anchorFirstBatch();
      record(key, (await anchor(2n, id(`root of ${events}`), 11n, 10n + events)).gasUsed);
    });

    it("voidBatch and supersede, rare repairs by the admin and the anchorer", async () => {
      await anchorFirstBatch();
      await anchor(2n, id("root 2"), 11n, 20n);
      record("voidBatch", (await voidBatch(1n, 1n, 10n)).gasUsed);
      record("supersede", (await mined(as(accounts.anchorer).supersede(1n, 3n, id("fixed")))).gasUsed);
      record("voidBatch.reopen", (await voidBatch(2n, 11n, 20n)).gasUsed);
    });

    it("verifyEvent in a batch of 1,000 events", async () => {
      const tree = treeOf(accessLeaves(1n, 1_000n));
      await anchor(1n, tree.root, 1n, 1_000n);
      record("verifyEvent.1000events", await ledger.verifyEvent.estimateGas(1n, 1n, 1_000n, tree.at(500)!, tree.getProof(500)));
    });

    it("grantRole and revokeRole of ANCHORER_ROLE", async () => {
      record("grantRole.anchorer", (await mined(ledger.grantRole(ANCHORER_ROLE, accounts.stranger.address))).gasUsed);
      record("revokeRole.anchorer", (await mined(ledger.revokeRole(ANCHORER_ROLE, accounts.stranger.address))).gasUsed);
    });
  });

  it("emits no BatchSuperseded from a plain anchor", async () => {
    const receipt = await anchor(1n, id("root"), 1n, 1n);
    expectNoEvent(receipt, ledger, "BatchSuperseded");
  });

  // Last in the file: after every test above has measured its figures.
  it("spends the gas test/gas-report.json records (UPDATE_GAS_REPORT=1 rewrites it after a change on purpose)", () => {
    if (UPDATE_GAS_REPORT) return;
    const measured = Object.fromEntries(Object.keys(GAS_CEILINGS).map((key) => [key, gasUsed[key as GasKey]]));
    expect(gasReportDifferences("AccessLedger", measured)).toEqual([]);
  });
});
