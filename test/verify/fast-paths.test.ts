import { createServer, type Server } from "node:http";
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { AddressInfo } from "node:net";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, getAddress, Interface, keccak256 } from "ethers";
import fc from "fast-check";
import { BoundedMap } from "../../scripts/verify/bounded-map";
import { CheckQueue } from "../../scripts/verify/check-queue";
import { VerificationFailure, type Failure } from "../../scripts/verify/failures";
import { BATCH_ANCHORED, ChainReader, KNOWN_ERRORS, LEDGER_CALLS, REGISTRY_CALLS } from "../../scripts/verify/chain-reader";
import { Keccak } from "../../scripts/verify/keccak";
import { digestLeaf, LeafEncoder } from "../../scripts/verify/leaf";
import { LineSource } from "../../scripts/verify/line-source";
import { ProofWalker } from "../../scripts/verify/merkle";
import { LEAF_TYPES, LEAF_TYPES_V1, parseLine, readLine, type EventRecord } from "../../scripts/verify/trail-format";
import { loadArtifact } from "../../service/chain/artifacts";

/**
 * The verifier's fast paths against the reference implementations: its hand-written leaf encoding (reached
 * the way the verifier reaches it, from an export line) against ethers' AbiCoder and OpenZeppelin's
 * StandardMerkleTree; its memoised proof walk against a plain processProof, for honest and forged proofs;
 * its direct keccak against ethers'; its line splitting against node:readline; its hand ABI coding of the
 * chain's answers against ethers' Interface over the compiled contracts.
 */
let keccak: Keccak;
beforeAll(async () => {
  keccak = await Keccak.create();
});

const hexOf = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => "0x" + Buffer.from(b).toString("hex"));
/** Category and purpose masks as trails hold them (small), and anything else a uint256 allows. */
const mask = fc.oneof(fc.integer({ min: 0, max: 0xfff }).map(BigInt), fc.bigInt({ min: 0n, max: (1n << 53n) + 5n }), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }));
const uuid = fc.uuid();

interface RandomEvent {
  format: 1 | 2;
  seq: number;
  id: string;
  time: number;
  actor: string;
  requester: string;
  patient: string;
  action: number;
  categories: bigint;
  purposes: bigint;
  decision: number;
  consentId: string;
  requestHash: string;
  prevHash: string;
}

/** Events as an export holds them: UUID or hex ids, checksummed or lower-case addresses, either format. */
const event: fc.Arbitrary<RandomEvent> = fc
  .record({
    format: fc.constantFrom(1 as const, 2 as const),
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    id: fc.oneof(uuid, hexOf(16)),
    time: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    actor: hexOf(20),
    requester: hexOf(20),
    patient: fc.oneof(hexOf(20), fc.constant("0x" + "00".repeat(20))),
    checksummed: fc.boolean(),
    action: fc.integer({ min: 0, max: 255 }),
    categories: mask,
    purposes: mask,
    decision: fc.integer({ min: 0, max: 255 }),
    consentId: hexOf(32),
    requestHash: hexOf(32),
    prevHash: hexOf(32),
  })
  .map(({ checksummed, ...e }) => {
    const show = (a: string) => (checksummed ? getAddress(a) : a);
    return { ...e, actor: show(e.actor), requester: e.format === 1 ? show(e.actor) : show(e.requester), patient: show(e.patient) };
  });

const idBytes = (id: string) => (id.startsWith("0x") ? id : "0x" + id.replace(/-/g, ""));
const valuesOf = (e: RandomEvent) => [
  e.seq,
  idBytes(e.id),
  e.time,
  e.actor,
  ...(e.format === 1 ? [] : [e.requester]),
  e.patient,
  e.action,
  e.categories,
  e.purposes,
  e.decision,
  e.consentId,
  e.requestHash,
  e.prevHash,
];
const typesOf = (format: 1 | 2) => [...(format === 1 ? LEAF_TYPES_V1 : LEAF_TYPES)];
/** The line as the service's export writes it. */
const lineOf = (e: RandomEvent, leaf: string, proof: string[]) =>
  JSON.stringify({ kind: "event", batchId: 1, ...e, categories: String(e.categories), purposes: String(e.purposes), leaf, proof });

describe("leaf encoding, from export line to leaf, against AbiCoder and StandardMerkleTree", () => {
  it("reads, encodes and hashes random events of both formats exactly as the reference does", () => {
    const encoder = new LeafEncoder();
    fc.assert(
      fc.property(event, (e) => {
        const types = typesOf(e.format);
        const reference = keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(types, valuesOf(e))));
        expect(StandardMerkleTree.of([valuesOf(e)], types).leafHash(valuesOf(e))).toBe(reference);
        const read = readLine(lineOf(e, reference, []), 2, true) as EventRecord;
        expect("0x" + encoder.encode(read).toString("hex")).toBe(AbiCoder.defaultAbiCoder().encode(types, valuesOf(e)));
        digestLeaf(keccak, encoder, read);
        expect("0x" + keccak.io.toString("hex", 0, 32)).toBe(reference);
        expect(read.leaf).toBe(reference);
      }),
      { numRuns: 500 },
    );
  });

  it("encodes into a buffer at an offset without touching the bytes around it", () => {
    const encoder = new LeafEncoder();
    const [e] = fc.sample(event, { numRuns: 1, seed: 7 });
    const fields = readLine(lineOf(e, "0x" + "00".repeat(32), []), 2) as EventRecord;
    const target = Buffer.alloc(600, 0xee);
    const length = encoder.encodeInto(fields, target, 50);
    expect(length).toBe(32 * (e.format === 1 ? 12 : 13));
    expect("0x" + target.subarray(50, 50 + length).toString("hex")).toBe(AbiCoder.defaultAbiCoder().encode(typesOf(e.format), valuesOf(e)));
    expect(target.subarray(0, 50).every((b) => b === 0xee) && target.subarray(50 + length).every((b) => b === 0xee)).toBe(true);
  });
});

/** MerkleProof.processProof over hex, with ethers' keccak: the reference for the walk. */
function processProofReference(leaf: string, proof: string[]): string {
  let node = leaf.toLowerCase();
  for (const sibling of proof.map((p) => "0x" + p.slice(2).toLowerCase())) node = keccak256(node <= sibling ? node + sibling.slice(2) : sibling + node.slice(2));
  return node;
}

describe("proof walk (memoised per batch) against processProof", () => {
  const leafFields = fc.record({ seq: fc.nat(), salt: hexOf(32) });

  it("finds every honest proof's root, in any order, for trees of 1 to 300 leaves", () => {
    const walker = new ProofWalker(keccak);
    fc.assert(
      fc.property(fc.array(leafFields, { minLength: 1, maxLength: 300 }), fc.integer(), (leaves, seed) => {
        const tree = StandardMerkleTree.of(leaves.map((l) => [l.seq, l.salt]), ["uint256", "bytes32"]);
        walker.reset();
        const order = [...leaves.keys()].sort((a, b) => ((a * 7919 + seed) % 997) - ((b * 7919 + seed) % 997));
        for (const i of order) {
          const leaf = tree.leafHash([leaves[i].seq, leaves[i].salt]);
          expect(walker.rootOf(leaf, tree.getProof(i))).toBe(tree.root);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("gives exactly processProof's answer for forged proofs, however much of the tree it remembers", () => {
    const leaves = fc.sample(leafFields, { numRuns: 64, seed: 3 });
    const tree = StandardMerkleTree.of(leaves.map((l) => [l.seq, l.salt]), ["uint256", "bytes32"]);
    const other = StandardMerkleTree.of(fc.sample(leafFields, { numRuns: 64, seed: 4 }).map((l) => [l.seq, l.salt]), ["uint256", "bytes32"]);
    const honest = leaves.map((l, i) => ({ leaf: tree.leafHash([l.seq, l.salt]), proof: tree.getProof(i) }));
    const forgery = fc.record({ i: fc.integer({ min: 0, max: 63 }), j: fc.integer({ min: 0, max: 63 }), k: fc.nat(), node: hexOf(32), how: fc.integer({ min: 0, max: 6 }) }).map(({ i, j, k, node, how }) => {
      const { leaf, proof } = honest[i];
      const p = [...proof];
      const at = k % p.length;
      switch (how) {
        case 0: p[at] = node; break; // a node replaced
        case 1: [p[0], p[p.length - 1]] = [p[p.length - 1], p[0]]; break; // nodes swapped
        case 2: p.splice(at, 1); break; // a node dropped
        case 3: p.splice(at, 0, node); break; // a node added
        case 4: return { leaf, proof: other.getProof(j) }; // another tree's proof
        case 5: return { leaf: honest[j].leaf, proof }; // another leaf's proof
        case 6: return { leaf, proof: p.map((n) => "0x" + n.slice(2).toUpperCase()) }; // the same, upper case
      }
      return { leaf, proof: p };
    });
    for (const capacity of [0, 8, 1 << 16]) {
      const walker = new ProofWalker(keccak, capacity);
      for (const h of honest.slice(0, 40)) expect(walker.rootOf(h.leaf, h.proof)).toBe(tree.root);
      fc.assert(
        fc.property(forgery, ({ leaf, proof }) => {
          expect(walker.rootOf(leaf, proof)).toBe(processProofReference(leaf, proof));
        }),
        { numRuns: 300, seed: capacity },
      );
      for (const h of honest) expect(walker.rootOf(h.leaf, h.proof)).toBe(tree.root);
    }
  });

  it("answers null for a node that is not 32-byte hex, even one Buffer.from would take (a two-byte character)", () => {
    const leaves = fc.sample(leafFields, { numRuns: 8, seed: 5 });
    const tree = StandardMerkleTree.of(leaves.map((l) => [l.seq, l.salt]), ["uint256", "bytes32"]);
    const walker = new ProofWalker(keccak);
    const leaf = tree.leafHash([leaves[0].seq, leaves[0].salt]);
    const proof = tree.getProof(0);
    expect(Buffer.from("\u0130" + proof[0].slice(3), "hex")).toHaveLength(32); // Node reads U+0130 as "0"
    for (const bad of ["0x\u0130" + proof[0].slice(3), "0x" + "zz" + proof[0].slice(4), proof[0].slice(0, 65) + "g"]) {
      expect(walker.rootOf(leaf, [bad, ...proof.slice(1)])).toBeNull();
      expect(walker.rootOf(leaf, [...proof.slice(0, -1), bad])).toBeNull();
    }
    expect(walker.rootOf(leaf, proof)).toBe(tree.root);
    // The same line through the strict parser: malformed.
    const e = fc.sample(event, { numRuns: 1, seed: 9 })[0];
    const line = JSON.parse(lineOf(e, leaf, proof));
    line.proof[1] = "0x\u0130" + proof[1].slice(3);
    expect(() => parseLine(JSON.stringify(line), 2)).toThrow("proof has a node that is not 32-byte hex");
    expect((readLine(JSON.stringify(line), 2, true) as EventRecord).proof[1]).toBe(line.proof[1]);
  });
});

describe("keccak", () => {
  it("hashes through hash-wasm's instance directly, as ethers' keccak256 for any length and parts", () => {
    expect(keccak.isDirect).toBe(true);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 4 }), (parts) => {
        expect(Buffer.from(keccak.hash(...parts)).toString("hex")).toBe(keccak256(Buffer.concat(parts)).slice(2));
      }),
      { numRuns: 300 },
    );
    const big = Buffer.alloc(40_000, 3);
    expect(Buffer.from(keccak.hash(big)).toString("hex")).toBe(keccak256(big).slice(2));
  });
});

describe("line source", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "consentry-lines-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function both(content: string | Buffer): Promise<{ ours: string[]; readline: string[]; lastLine: number }> {
    const file = join(dir, "lines.txt");
    writeFileSync(file, content);
    const source = new LineSource(file);
    const ours: string[] = [];
    for (let line = await source.next(); line !== null; line = await source.next()) ours.push(line);
    source.close();
    const readline: string[] = [];
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) readline.push(line);
    return { ours, readline, lastLine: source.line };
  }

  it("splits lines as node:readline does: LF, CRLF and lone CR, a last line without a break, empty lines", async () => {
    for (const text of ["", "a", "a\n", "a\nb", "\n\n", "a\r\nb\r\n", "a\rb\r", "a\r\n\r\nb", "x\r", "{\"kind\":\"end\"}\n"]) {
      const { ours, readline, lastLine } = await both(text);
      expect(ours).toEqual(readline);
      expect(lastLine).toBe(ours.length);
    }
  });

  it("keeps multi-byte characters, CRLF pairs and lines longer than its buffer whole across its 1 MiB reads", async () => {
    const chunk = 1 << 20;
    const parts: string[] = [];
    // A line ending so that the next read starts inside a 4-byte character, then inside a CRLF pair.
    parts.push("x".repeat(chunk - 2) + "😀\n", "y".repeat(chunk - 5) + "\r\n", "é".repeat(100) + "\r", "z".repeat(3 * chunk) + "\n", "last 😀 line");
    const { ours, readline } = await both(parts.join(""));
    expect(ours.length).toBe(readline.length);
    expect(ours).toEqual(readline);
  });
});

describe("bounded cache", () => {
  it("stays within its capacity and keeps what is used over what is not", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 400 }), (capacity, ops) => {
        const m = new BoundedMap<number, number>(capacity);
        for (const [isSet, key] of ops) {
          if (isSet) m.set(key, key * 2);
          else {
            const v = m.get(key);
            if (v !== undefined) expect(v).toBe(key * 2);
          }
          expect(m.size).toBeLessThanOrEqual(capacity);
        }
      }),
    );
    const m = new BoundedMap<string, number>(3);
    m.set("hot", 1);
    for (let i = 0; i < 100; i++) {
      expect(m.get("hot")).toBe(1);
      m.set(`cold ${i}`, i);
    }
  });
});

describe("checks in flight", () => {
  const at = (seq: number) => ({ seq, id: `e${seq}`, batchId: 1, line: seq + 2 });
  const failure = (reason: Failure["reason"]): Failure => ({ reason, detail: "x" });
  const later = <T>(value: T, ms: number) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

  it("drains answered checks off the front without waiting, stopping at one still in flight, and throws the first failure", async () => {
    const queue = new CheckQueue();
    queue.add(at(1), Promise.resolve(null));
    queue.add(at(2), later(null, 20));
    queue.add(at(3), Promise.resolve(failure("consent-mismatch")));
    await Promise.resolve();
    await Promise.resolve();
    queue.drain();
    expect(queue.size).toBe(2); // seq 1 gone; seq 2 still in flight holds seq 3 back
    await later(null, 30);
    let thrown: unknown;
    try {
      queue.drain();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(VerificationFailure);
    expect((thrown as VerificationFailure).failure).toMatchObject({ seq: 3, reason: "consent-mismatch" });
  });

  it("ranks a batch's own check before its first event's failure, and reports it as final", async () => {
    const queue = new CheckQueue();
    queue.add(at(10), later(failure("root-mismatch"), 10), { rank: 9.5, final: true });
    expect(await queue.earliest({ ...at(10), reason: "proof-invalid", detail: "y" })).toMatchObject({ seq: 10, reason: "root-mismatch" });
    const again = new CheckQueue();
    again.add(at(10), Promise.resolve(failure("batch-not-on-chain")), { rank: 9.5, final: true });
    await expect(again.settle(0)).rejects.toMatchObject({ final: true, failure: { reason: "batch-not-on-chain" } });
  });

  it("finds the earliest failure in flight even when a tampered export queued checks out of seq order", async () => {
    const queue = new CheckQueue();
    queue.add(at(20), Promise.resolve(failure("deny-mismatch")));
    queue.add(at(5), later(failure("consent-mismatch"), 5));
    expect(await queue.earliest({ ...at(30), reason: "leaf-mismatch", detail: "z" })).toMatchObject({ seq: 5 });
  });
});

describe("the chain's interface, encoded and decoded by hand", () => {
  const ledger = new Interface(loadArtifact("AccessLedger").abi);
  const registry = new Interface(loadArtifact("ConsentRegistry").abi);

  it("names functions, the event and errors that the compiled contracts have, with the results it decodes", () => {
    const outputs = (iface: Interface, signature: string) => iface.getFunction(signature)!.outputs.map((o) => o.format());
    expect(outputs(ledger, LEDGER_CALLS.getBatch)).toEqual(["(bytes32,uint8,uint256)"]);
    expect(outputs(ledger, LEDGER_CALLS.batchCount)).toEqual(["uint256"]);
    expect(outputs(registry, REGISTRY_CALLS.getConsent)).toEqual(["((address,address,uint256,uint256,uint8,uint64,uint64),uint64,uint64)"]);
    expect(outputs(registry, REGISTRY_CALLS.consentsOf)).toEqual(["bytes32[]"]);
    expect(outputs(registry, REGISTRY_CALLS.decide)).toEqual(["uint8", "bytes32"]);
    expect(outputs(registry, REGISTRY_CALLS.institutionHistory)).toEqual(["(uint64,bool)[]"]);
    expect(ledger.getEvent(BATCH_ANCHORED)!.inputs.map((i) => i.indexed)).toEqual([true, false, false, false]);
    for (const error of KNOWN_ERRORS) expect(ledger.getError(error) ?? registry.getError(error)).not.toBeNull();
  });

  /** A JSON-RPC node that answers from the contracts' ABI (ethers encodes), and notes the calls it was sent. */
  async function fakeNode(answer: (call: { to: string; data: string }) => { result: string } | { revert: string }, shape: "hardhat" | "geth") {
    const calls: Array<{ to: string; data: string }> = [];
    const logs: unknown[] = [];
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const requests = JSON.parse(body) as Array<{ id: number; method: string; params: unknown[] }>;
        const answers = requests.map(({ id, method, params }) => {
          if (method === "eth_getLogs") return { jsonrpc: "2.0", id, result: logs };
          if (method === "eth_getBlockByNumber") return { jsonrpc: "2.0", id, result: { timestamp: "0x6553f100" } };
          const call = params[0] as { to: string; data: string };
          calls.push(call);
          const a = answer(call);
          if ("result" in a) return { jsonrpc: "2.0", id, result: a.result };
          const message = "execution reverted";
          return shape === "geth"
            ? { jsonrpc: "2.0", id, error: { code: 3, message, data: a.revert } }
            : { jsonrpc: "2.0", id, error: { code: -32603, message: "Error: VM Exception while processing transaction: reverted with custom error", data: { message: "reverted with custom error", data: a.revert } } };
        });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(answers));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const chain = ChainReader.connect(url, { chainId: 31337, accessLedger: "0x" + "11".repeat(20), consentRegistry: "0x" + "22".repeat(20) });
    return { chain, calls, logs, close: () => new Promise<void>((resolve) => { chain.close(); server.close(() => resolve()); }) };
  }

  const address = hexOf(20);
  const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const u256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });

  it.each(["hardhat", "geth"] as const)("decodes consents, decisions, histories, batches and %s-style reverts as ethers' Interface encodes them", async (shape) => {
    // Each call answers from its own slot; consentsOf and institutionHistory answer empty unless set.
    const selector = (iface: Interface, signature: string) => iface.getFunction(signature)!.selector;
    const slots = new Map<string, { result: string } | { revert: string }>([
      [selector(registry, REGISTRY_CALLS.consentsOf), { result: registry.encodeFunctionResult(REGISTRY_CALLS.consentsOf, [[]]) }],
      [selector(registry, REGISTRY_CALLS.institutionHistory), { result: registry.encodeFunctionResult(REGISTRY_CALLS.institutionHistory, [[]]) }],
    ]);
    const answer = (iface: Interface, signature: string, a: { result: string } | { revert: string }) => slots.set(selector(iface, signature), a);
    const node = await fakeNode((call) => slots.get(call.data.slice(0, 10)) ?? { revert: "0x" }, shape);
    let fresh = 0;
    const newAccount = () => "0x" + (++fresh).toString(16).padStart(40, "0");
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.record({ patient: address, grantee: address, categories: u256, purposes: u256, effect: fc.integer({ min: 0, max: 255 }), validFrom: u64, validUntil: u64, grantedAt: u64, revokedAt: u64 }),
          async (c) => {
            answer(registry, REGISTRY_CALLS.getConsent, { result: registry.encodeFunctionResult(REGISTRY_CALLS.getConsent, [[[c.patient, c.grantee, c.categories, c.purposes, c.effect, c.validFrom, c.validUntil], c.grantedAt, c.revokedAt]]) });
            const id = "0x" + newAccount().slice(2).padStart(64, "0");
            expect(await node.chain.getConsent(id)).toEqual({ id, patient: c.patient, grantee: c.grantee, categories: c.categories, purposes: c.purposes, effect: c.effect, validFrom: c.validFrom, validUntil: c.validUntil, grantedAt: c.grantedAt, revokedAt: c.revokedAt });
            expect(node.calls.at(-1)).toEqual({ to: "0x" + "22".repeat(20), data: registry.encodeFunctionData(REGISTRY_CALLS.getConsent, [id]) });
          },
        ),
        { numRuns: 40 },
      );
      await fc.assert(
        fc.asyncProperty(address, u256, u256, u64, fc.integer({ min: 0, max: 255 }), hexOf(32), async (r, cats, purps, at, decision, consentId) => {
          answer(registry, REGISTRY_CALLS.decide, { result: registry.encodeFunctionResult(REGISTRY_CALLS.decide, [decision, consentId]) });
          const p = newAccount(); // a new question: the cache has no answer for it
          expect(await node.chain.decide(p, r, cats, purps, at)).toEqual({ decision, consentId });
          expect(node.calls.at(-1)!.data).toBe(registry.encodeFunctionData(REGISTRY_CALLS.decide, [p, r, cats, purps, at]));
        }),
        { numRuns: 40 },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(u64, fc.boolean()), { maxLength: 6 }), fc.nat(), async (history, pick) => {
          const sorted = [...history].sort((a, b) => a[0] - b[0]);
          answer(registry, REGISTRY_CALLS.institutionHistory, { result: registry.encodeFunctionResult(REGISTRY_CALLS.institutionHistory, [sorted]) });
          const at = sorted.length ? sorted[pick % sorted.length][0] : pick;
          let expected = false;
          for (const [t, member] of sorted) if (t <= at) expected = member;
          expect(await node.chain.isInstitutionAt(newAccount(), at)).toBe(expected);
        }),
        { numRuns: 30 },
      );
      const consents = ["0x" + "0a".repeat(32), "0x" + "0b".repeat(32)];
      answer(registry, REGISTRY_CALLS.consentsOf, { result: registry.encodeFunctionResult(REGISTRY_CALLS.consentsOf, [consents]) });
      const c = ["0x" + "01".repeat(20), "0x" + "02".repeat(20), 1n, 1n, 0, 50, 0];
      answer(registry, REGISTRY_CALLS.getConsent, { result: registry.encodeFunctionResult(REGISTRY_CALLS.getConsent, [[c, 40, 0]]) });
      answer(registry, REGISTRY_CALLS.decide, { result: registry.encodeFunctionResult(REGISTRY_CALLS.decide, [1, consents[0]]) });
      await node.chain.decide("0x" + "01".repeat(20), "0x" + "02".repeat(20), 1n, 1n, 60);
      expect(node.calls.filter((x) => x.data === registry.encodeFunctionData(REGISTRY_CALLS.getConsent, [consents[1]]))).toHaveLength(1);

      const next = (a: { result: string } | { revert: string }) => answer(ledger, LEDGER_CALLS.getBatch, a);
      next({ result: ledger.encodeFunctionResult(LEDGER_CALLS.getBatch, [["0x" + "ab".repeat(32), 2, 7n]]) });
      expect(await node.chain.getBatch(3, 10, 20)).toEqual({ root: "0x" + "ab".repeat(32), status: 2, supersededBy: 7 });
      expect(node.calls.at(-1)!.data).toBe(ledger.encodeFunctionData(LEDGER_CALLS.getBatch, [3, 10, 20]));
      next({ revert: ledger.encodeErrorResult("BatchNotFound", [3]) });
      expect(await node.chain.getBatch(3, 10, 20)).toBeNull();
      next({ revert: ledger.encodeErrorResult("BatchRangeMismatch", [3, 10, 20]) });
      expect(await node.chain.getBatch(3, 10, 20)).toEqual({ rangeMismatch: true });
      answer(registry, REGISTRY_CALLS.getConsent, { revert: registry.encodeErrorResult("ConsentNotFound", ["0x" + "cd".repeat(32)]) });
      expect(await node.chain.getConsent("0x" + "cd".repeat(32))).toBeNull();
      answer(registry, REGISTRY_CALLS.decide, { revert: registry.encodeErrorResult("InvalidCategories", [1n << 200n]) });
      expect(await node.chain.decide(newAccount(), "0x" + "02".repeat(20), 1n << 200n, 1n, 5)).toMatchObject({ decision: -1, invalid: "InvalidCategories" });
      // Any other revert is not an answer: verification cannot go on.
      next({ revert: "0x08c379a0" + AbiCoder.defaultAbiCoder().encode(["string"], ["nope"]).slice(2) });
      await expect(node.chain.getBatch(4, 21, 30)).rejects.toThrow();
      answer(ledger, LEDGER_CALLS.batchCount, { result: ledger.encodeFunctionResult(LEDGER_CALLS.batchCount, [149n]) });
      expect(await node.chain.batchCount()).toBe(149);

      const root = "0x" + "ef".repeat(32);
      const log = ledger.encodeEventLog(BATCH_ANCHORED, [9, root, 100, 199]);
      node.logs.push({ address: "0x" + "11".repeat(20), topics: log.topics, data: log.data });
      expect(await node.chain.anchoredIn(5, 9, root, 100, 199)).toBe(true);
      expect(await node.chain.anchoredIn(5, 9, root, 100, 198)).toBe(false);
      expect(await node.chain.anchoredIn(5, 9, "0x" + "ee".repeat(32), 100, 199)).toBe(false);
    } finally {
      await node.close();
    }
  });
});
