import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { createRpcProvider } from "../../service/chain/rpc-provider";
import { walletOf } from "../support/actors";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { runTs, type RunningProcess } from "../support/process";
import { startTestService, writeTempDeployment, type TestService } from "../support/service";
import { labObservation } from "../support/synthea";
import { anchoredRanges, waitUntil } from "../support/trail-assertions";
import { SETTLE_TIMEOUT_MS } from "../support/ready";
import { readLines, runVerifyCli, tempDir, writeLines } from "../verify/helpers";

/**
 * The regulator's path end to end: the service records and anchors real accesses, exports them, and the
 * independent verifier checks the export against the chain alone.
 */
describe("export from the service, verified against the chain", () => {
  let node: RunningProcess;
  let chainUrl: string;
  let deployment: Deployment;
  let deploymentFile: string;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  let regulator: Record<string, string>;
  const dir = tempDir();
  const alice = walletOf("patient", 0);

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    [, chainUrl] = await node.waitFor(/CHAIN (\S+)/);
    const provider = createRpcProvider(chainUrl, 31337);
    deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, provider));
    deploymentFile = writeTempDeployment(deployment);
    service = await startTestService({ deployment, env: { CHAIN_RPC_URL: chainUrl, BATCH_MAX_MS: "200", BATCH_MAX_EVENTS: "7", AUDIT_RETENTION_DAYS: "0" } });
    client = consentClient(service, provider, deployment);
    regulator = await client.signIn(walletOf("regulator", 0));
    const hospital = await client.signIn(walletOf("institution", 0));
    const lab = await client.signIn(walletOf("institution", 1));
    expect((await client.enrol(alice, hospital)).status).toBe(201);
    const aliceAuth = await client.signIn(alice);
    const did = `did:pkh:eip155:31337:${alice.address}`;
    const obs = await service.request({ method: "POST", url: "/fhir/Observation", headers: hospital, payload: labObservation(did) });
    expect(obs.status).toBe(201);
    const read = (headers: Record<string, string>, query: string) => service.request({ method: "GET", url: `/fhir/Observation/${obs.body.id}?${query}`, headers });

    expect((await read(lab, "purpose=TREAT")).status).toBe(403); // no consent yet
    const signed = await client.signGrant(alice, client.terms(alice, { grantee: walletOf("institution", 1).address, categories: 1 << 3 }));
    const granted = await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } });
    // The custodian asks whether the lab may receive the data (HL7 LEAP consult): actor the hospital, requester the lab.
    const consult = await service.request({
      method: "POST",
      url: "/cds-services/patient-consent-consult",
      headers: hospital,
      payload: { hook: "patient-consent-consult", hookInstance: "c1", context: { patientId: [{ value: did }], actor: [{ value: walletOf("institution", 1).address }], class: [{ system: "urn:consentry:category", code: "laboratory" }] } },
    });
    expect(consult.body.cards[0].summary).toBe("CONSENT_PERMIT");
    for (let i = 0; i < 5; i++) expect((await read(lab, "purpose=TREAT")).status).toBe(200); // permits under the consent
    expect((await read(lab, "purpose=ETREAT&justification=collapse")).status).toBe(200); // break-glass
    const revoke = await client.signRevoke(alice, granted.body.consentId);
    expect((await service.request({ method: "POST", url: `/consents/${granted.body.consentId}/revoke`, headers: aliceAuth, payload: { ...revoke, wait: true } })).status).toBe(200);
    expect((await read(lab, "purpose=TREAT")).status).toBe(403); // revoked
    expect((await service.request({ method: "GET", url: `/fhir/Observation?patient=${alice.address}`, headers: aliceAuth })).status).toBe(200);

    const lastSeq = (await service.request({ method: "GET", url: "/audit/events?limit=1000", headers: regulator })).body.events.at(-1).seq;
    expect(await waitUntil(async () => (await anchoredRanges(provider, deployment)).nextSeq === lastSeq + 1, SETTLE_TIMEOUT_MS)).toBe(true);
    expect(await waitUntil(async () => (await exportTrail()).includes('"kind":"end"') && readLines(join(dir, "trail.ndjson")).filter((l) => l.kind === "event").length === lastSeq)).toBe(true);
    provider.destroy();
  });

  afterAll(async () => {
    await service?.close();
    node?.child.kill("SIGKILL");
  });

  async function exportTrail(file = join(dir, "trail.ndjson")): Promise<string> {
    const res = await service.request({ method: "GET", url: "/audit/export?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", headers: regulator });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/application\/x-ndjson/);
    writeFileSync(file, res.text);
    return res.text;
  }

  const verify = (file: string, report = join(dir, "report.json")) =>
    runVerifyCli(["--export", file, "--rpc", chainUrl, "--deployment", deploymentFile, "--report", report]);

  it("verifies: every leaf, proof, range and hash link, and every permit against a consent active on chain", async () => {
    const run = await verify(join(dir, "trail.ndjson"));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
    expect(report.ok).toBe(true);
    expect(report.firstFailure).toBeNull();
    expect(report.breakGlass).toHaveLength(1);
    expect(report.checked.permits).toBeGreaterThanOrEqual(5);
  });

  it("is refused by the verifier when a single field is edited", async () => {
    const lines = readLines(join(dir, "trail.ndjson"));
    const victim = lines.find((l) => l.kind === "event" && l.decision === 0)!;
    victim.decision = 1; // a refusal rewritten as a release
    const run = await verify(writeLines(join(dir, "tampered.ndjson"), lines), join(dir, "tampered.json"));
    expect(run.code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, "tampered.json"), "utf8"));
    expect(report.firstFailure).toMatchObject({ seq: victim.seq, reason: "leaf-mismatch" });
  });

  it("verifies a consult about another party, and names the event when its requester is swapped", async () => {
    const lines = readLines(join(dir, "trail.ndjson"));
    const hospital = walletOf("institution", 0).address.toLowerCase();
    const lab = walletOf("institution", 1).address.toLowerCase();
    const consult = lines.find((l) => l.kind === "event" && l.actor === hospital && l.requester === lab && l.decision === 1)!;
    expect(consult).toMatchObject({ format: 2, action: 4 });
    consult.requester = hospital; // "the hospital asked about itself": its consent does not cover that
    const run = await verify(writeLines(join(dir, "swapped.ndjson"), lines), join(dir, "swapped.json"));
    expect(run.code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, "swapped.json"), "utf8"));
    expect(report.firstFailure).toMatchObject({ seq: consult.seq, id: consult.id });
  });

  it("still verifies after an admin prunes old events, keeping the batch headers", async () => {
    const admin = await client.signIn(walletOf("admin", 0));
    const batches = readLines(join(dir, "trail.ndjson")).filter((l) => l.kind === "event");
    // Everything before the last batch's first event is old enough for this test (retention 0 days).
    const lastBatchId = batches.at(-1)!.batchId;
    const cutoff = new Date(Number(batches.find((e) => e.batchId === lastBatchId)!.time)).toISOString();
    const pruned = await service.request({ method: "POST", url: "/audit/prune", headers: admin, payload: { before: cutoff } });
    expect(pruned.status).toBe(200);
    expect(pruned.body.batchesPruned).toBeGreaterThanOrEqual(1);
    const text = await exportTrail(join(dir, "pruned.ndjson"));
    expect(text).toContain('"pruned":true');
    expect(text).toContain('"kind":"event"');
    const run = await verify(join(dir, "pruned.ndjson"), join(dir, "pruned.json"));
    expect(run.code).toBe(0);
    expect((await service.request({ method: "POST", url: "/audit/prune", headers: regulator, payload: {} })).status).toBe(403);
  });
});
