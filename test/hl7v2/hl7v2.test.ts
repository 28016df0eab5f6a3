import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { Logger } from "@nestjs/common";
import type { Deployment } from "../../service/chain/deployment";
import { readAck } from "../../service/hl7v2/hl7v2-ack";
import { MllpListener } from "../../service/hl7v2/mllp-listener";
import { frame, MllpDecoder } from "../../service/hl7v2/mllp";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

const LABORATORY = 1 << 3;
const OID = "2.16.840.1.113883.19.5";
const ALICE_MRN = "MRN-HL7-ALICE";

/** A self-signed certificate and key (P-256) made with openssl, as the TLS test does. */
function certificate(dir: string, name: string): { cert: string; key: string; pem: Buffer; fingerprint: string } {
  const [cert, key] = [join(dir, `${name}.pem`), join(dir, `${name}.key`)];
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const pem = readFileSync(cert);
  return { cert, key, pem, fingerprint: new X509Certificate(pem).fingerprint256 };
}

const hl7 = (...segments: string[]) => segments.join("\r");
const msh = (type: string, controlId: string) => `MSH|^~\\&|LIS|NORTHSIDE|CONSENTRY|CONSENTRY|20261127101500+0100||${type}|${controlId}|P|2.5.1`;
const pid = (mrn: string) => `PID|1||${mrn}^^^NORTHSIDE&${OID}&ISO^MR||Doe^Alice^Q||19800214|F|||1 Main St^^Springfield^^12345^US`;
const oru = (controlId: string, mrn: string, obx = "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||95|mg/dL^mg/dL^UCUM|70-99|N|||F|||20261127093000+0100") =>
  hl7(
    msh("ORU^R01^ORU_R01", controlId),
    pid(mrn),
    "OBR|1|PL-1^HOSP|FL-7781^NORTHSIDE|24323-8^Comprehensive metabolic panel^LN|||20261127093000+0100|||||||||||||||20261127101000+0100||CH|F",
    obx,
    "OBX|2|ST|33914-3^Glomerular filtration rate/1.73 sq M predicted^LN||>60 mL/min|||N|||F",
    "NTE|1||Fasting sample",
  );

/** Sends framed messages over one TLS connection and collects one framed answer per message. */
async function mllp(port: number, client: { cert: string; key: string }, messages: string[]): Promise<string[]> {
  const socket = connect({ host: "127.0.0.1", port, cert: readFileSync(client.cert), key: readFileSync(client.key), rejectUnauthorized: false });
  const decoder = new MllpDecoder(1 << 20);
  const answers: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`MLLP: ${answers.length} of ${messages.length} answers in time`));
    }, 30_000);
    socket.on("secureConnect", () => {
      for (const m of messages) socket.write(frame(m));
    });
    socket.on("data", (chunk: Buffer) => {
      answers.push(...decoder.push(chunk).map((b) => b.toString("utf8")));
      if (answers.length === messages.length) {
        clearTimeout(timer);
        socket.end();
        resolve(answers);
      }
    });
    // A refused connection may end in a reset: what was answered by then is the result.
    socket.on("error", () => {
      clearTimeout(timer);
      resolve(answers);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (answers.length < messages.length) resolve(answers);
    });
  });
}

describe("HL7 v2 in: MLLP and POST /hl7v2", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  let hospital: Record<string, string>;
  let lab: Record<string, string>;
  let aliceAuth: Record<string, string>;
  let regulator: Record<string, string>;
  let port: number;
  const alice = walletOf("patient", 0);
  const dir = mkdtempSync(join(tmpdir(), "consentry-hl7-"));
  const server = certificate(dir, "mllp-server");
  const hospitalClient = certificate(dir, "hospital-lis");
  const stranger = certificate(dir, "stranger");

  const get = (url: string, headers: Record<string, string>) => service.request({ method: "GET", url, headers });
  const post = (body: string, headers: Record<string, string>, contentType = "x-application/hl7-v2+er7") =>
    service.request({ method: "POST", url: "/hl7v2", headers: { ...headers, "content-type": contentType }, payload: body });
  const trail = async () => (await get("/audit/events?limit=1000", regulator)).body.events as Array<Record<string, unknown>>;

  /** What the service's loggers were handed, at any level: checked for personal data at the end. */
  const logged: string[] = [];
  for (const level of ["log", "warn", "error", "debug"] as const) {
    jest.spyOn(Logger.prototype, level).mockImplementation(function (this: Logger, ...args: unknown[]) {
      logged.push(JSON.stringify(args));
    });
  }

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({
      deployment,
      provider: chain.provider,
      env: {
        BATCH_MAX_MS: "200",
        HL7_MLLP_PORT: "0",
        HL7_MLLP_TLS_CERT_FILE: server.cert,
        HL7_MLLP_TLS_KEY_FILE: server.key,
        HL7_MLLP_SENDERS: `${hospitalClient.fingerprint}=${walletOf("institution", 0).address}`,
      },
    });
    client = consentClient(service, chain.provider, deployment);
    hospital = await client.signIn(walletOf("institution", 0));
    lab = await client.signIn(walletOf("institution", 1));
    regulator = await client.signIn(walletOf("regulator", 0));
    const enrolled = await client.enrol(alice, hospital, walletOf("institution", 0), [{ system: `urn:oid:${OID}`, value: ALICE_MRN }]);
    expect(enrolled.status).toBe(201);
    aliceAuth = await client.signIn(alice);
    port = service.app.get(MllpListener).port!;
    expect(port).toBeGreaterThan(0);
  });

  afterAll(() => service?.close());

  it("ORU^R01 over MLLP → ACK AA; the Observation is refused to another institution without consent and released under it", async () => {
    const [ack] = await mllp(port, hospitalClient, [oru("MSG-0001", ALICE_MRN)]);
    expect(ack.startsWith("MSH|^~\\&|CONSENTRY|CONSENTRY|LIS|NORTHSIDE|")).toBe(true);
    expect(ack.split("\r")[0].split("|")[8]).toBe("ACK^R01^ACK");
    expect(readAck(ack)).toMatchObject({ code: "AA", controlId: "MSG-0001" });

    // The custodian finds what it stored, as with any of its records.
    const own = await get(`/fhir/Observation?patient=${alice.address}&purpose=TREAT`, hospital);
    expect(own.status).toBe(200);
    const observations = own.body.entry.map((e: { resource: Record<string, any> }) => e.resource);
    expect(observations).toHaveLength(2);
    const glucose = observations.find((o: any) => o.code.coding[0].code === "2345-7");
    expect(glucose).toMatchObject({
      status: "final",
      category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" }] }],
      code: { coding: [{ system: "http://loinc.org", code: "2345-7" }] },
      subject: { identifier: { system: "urn:ietf:rfc:3986", value: `did:pkh:eip155:${deployment.chainId}:${alice.address}` } },
      effectiveDateTime: "2026-11-27T09:30:00+01:00",
      valueQuantity: { value: 95, unit: "mg/dL", system: "http://unitsofmeasure.org", code: "mg/dL" },
      interpretation: [{ coding: [{ code: "N" }] }],
      referenceRange: [{ low: { value: 70 }, high: { value: 99 }, text: "70-99" }],
    });
    const gfr = observations.find((o: any) => o.code.coding[0].code === "33914-3");
    expect(gfr).toMatchObject({ valueString: ">60 mL/min", note: [{ text: "Fasting sample" }] });

    const denied = await get(`/fhir/Observation/${glucose.id}?purpose=TREAT`, lab);
    expect(denied.status).toBe(403);
    // The refusal's shape is the /fhir surface's (problem details or OperationOutcome); its reason is consent-required.
    expect(JSON.stringify(denied.body)).toContain("consent-required");

    const signed = await client.signGrant(alice, client.terms(alice, { grantee: walletOf("institution", 1).address, categories: LABORATORY }));
    expect((await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } })).status).toBe(201);

    const read = await get(`/fhir/Observation/${glucose.id}?purpose=TREAT`, lab);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ resourceType: "Observation", id: glucose.id, valueQuantity: { value: 95 } });
    const reports = await get(`/fhir/DiagnosticReport?patient=${alice.address}&purpose=TREAT`, lab);
    expect(reports.status).toBe(200);
    expect(reports.body.entry).toHaveLength(1);
    expect(reports.body.entry[0].resource).toMatchObject({
      status: "final",
      category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0074", code: "CH" }] }],
      code: { coding: [{ system: "http://loinc.org", code: "24323-8" }] },
      issued: "2026-11-27T10:10:00+01:00",
    });
    expect(reports.body.entry[0].resource.result.map((r: { reference: string }) => r.reference).sort()).toEqual(observations.map((o: any) => `Observation/${o.id}`).sort());

    // Every write went through the access trail as the custodian's; the reads as the lab's.
    const events = await trail();
    const writes = events.filter((e) => e.action === "record.write" && e.actor === walletOf("institution", 0).address.toLowerCase() && e.decision === "recorded");
    expect(writes.map((e) => e.resourceType).sort()).toEqual(["DiagnosticReport", "Observation", "Observation"]);
    expect(writes.every((e) => e.patient === alice.address.toLowerCase())).toBe(true);
    const reads = events.filter((e) => e.resourceId === glucose.id && e.action === "record.read");
    expect(reads.map((e) => e.decision)).toEqual(["no-consent", "permit"]);
  });

  it("a resent or corrected result updates the same record (stable ids), not a duplicate", async () => {
    const corrected = "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||97|mg/dL^mg/dL^UCUM|70-99|N|||C|||20261127093000+0100";
    const [ack] = await mllp(port, hospitalClient, [oru("MSG-0002", ALICE_MRN, corrected)]);
    expect(readAck(ack)).toMatchObject({ code: "AA", controlId: "MSG-0002" });
    const own = await get(`/fhir/Observation?patient=${alice.address}&purpose=TREAT`, hospital);
    const glucose = own.body.entry.map((e: { resource: any }) => e.resource).filter((o: any) => o.code.coding[0].code === "2345-7");
    expect(glucose).toHaveLength(1);
    expect(glucose[0]).toMatchObject({ status: "corrected", valueQuantity: { value: 97 }, meta: { versionId: "2" } });
  });

  it("answers malformed messages AE/AR with the reason in MSA and ERR, in order on one connection", async () => {
    const [badValue, unsupported, noControlId, notHl7, obxFirst, training] = await mllp(port, hospitalClient, [
      oru("MSG-0003", ALICE_MRN, "OBX|1|NM|2345-7^Glucose^LN||ninety|mg/dL^mg/dL^UCUM|||||F"),
      hl7(msh("ADT^A01^ADT_A01", "MSG-0004"), pid(ALICE_MRN)),
      hl7(msh("ORU^R01^ORU_R01", ""), pid(ALICE_MRN)),
      "this is not an HL7 message",
      hl7(msh("ORU^R01^ORU_R01", "MSG-0006"), pid(ALICE_MRN), "OBX|1|NM|2345-7^Glucose^LN||95|mg/dL||||F"),
      oru("MSG-0012", ALICE_MRN).replace("|MSG-0012|P|", "|MSG-0012|T|"),
    ]);
    expect(readAck(badValue)).toMatchObject({ code: "AE", controlId: "MSG-0003" });
    expect(readAck(badValue).err).toMatch(/^ERR\|\|OBX\^1\^5\|102\^Data type error\^HL70357\|E\|invalid-value\^\^CONSENTRY\|\|\|OBX-5 is not a number/);
    expect(readAck(unsupported)).toMatchObject({ code: "AR", controlId: "MSG-0004" });
    expect(readAck(unsupported).err).toContain("|201^Unsupported event code^HL70357|E|unsupported-message-type^^CONSENTRY|");
    expect(readAck(noControlId)).toMatchObject({ code: "AR", controlId: "" });
    expect(readAck(noControlId).reason).toContain("MSH-10");
    expect(readAck(notHl7)).toMatchObject({ code: "AR", controlId: "" });
    expect(readAck(notHl7).err).toContain("not-hl7v2");
    expect(readAck(obxFirst)).toMatchObject({ code: "AE", controlId: "MSG-0006" });
    expect(readAck(obxFirst).err).toContain("segment-sequence");
    expect(readAck(training)).toMatchObject({ code: "AR", controlId: "MSG-0012" });
    expect(readAck(training).err).toContain("|202^Unsupported processing id^HL70357|E|unsupported-processing-id^^CONSENTRY|");
    // Nothing of the bad value was stored.
    const own = await get(`/fhir/Observation?patient=${alice.address}&purpose=TREAT`, hospital);
    expect(JSON.stringify(own.body)).not.toContain("ninety");
  });

  it("refuses (AR) a message about a patient not enrolled with the custodian, and records the refused write", async () => {
    const before = (await trail()).length;
    const [ack] = await mllp(port, hospitalClient, [oru("MSG-0007", "MRN-NOBODY")]);
    expect(readAck(ack)).toMatchObject({ code: "AR", controlId: "MSG-0007" });
    expect(readAck(ack).err).toContain("|204^Unknown key identifier^HL70357|E|patient-not-enrolled^^CONSENTRY|");
    expect(ack).not.toContain("MRN-NOBODY");
    const events = (await trail()).slice(before);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: "record.write", decision: "rejected", actor: walletOf("institution", 0).address.toLowerCase(), patient: null, resourceType: "Observation" });

    // Alice is enrolled with the hospital, not with the lab: the lab cannot write her results either.
    const asLab = await post(oru("MSG-0008", ALICE_MRN), lab);
    expect(asLab.status).toBe(200);
    expect(readAck(asLab.text)).toMatchObject({ code: "AR", controlId: "MSG-0008" });
    const last = (await trail()).at(-1)!;
    expect(last).toMatchObject({ action: "record.write", decision: "rejected", actor: walletOf("institution", 1).address.toLowerCase() });
  });

  it("closes a connection whose client certificate is not registered, before any message", async () => {
    const answers = await mllp(port, stranger, [oru("MSG-0009", ALICE_MRN)]);
    expect(answers).toEqual([]);
  });

  it("POST /hl7v2: ADT^A08 stores the patient's demographics; non-HL7 bodies and callers are problems", async () => {
    const adt = hl7(msh("ADT^A08^ADT_A01", "MSG-0010"), "EVN|A08|20261127101500+0100", pid(ALICE_MRN), "PV1|1|O");
    const res = await post(adt, hospital);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^x-application\/hl7-v2\+er7/);
    expect(readAck(res.text)).toMatchObject({ code: "AA", controlId: "MSG-0010" });
    const patients = await get(`/fhir/Patient?patient=${alice.address}&purpose=TREAT`, hospital);
    expect(patients.body.entry).toHaveLength(1);
    expect(patients.body.entry[0].resource).toMatchObject({
      resourceType: "Patient",
      identifier: expect.arrayContaining([{ type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: "MR" }] }, system: `urn:oid:${OID}`, value: ALICE_MRN }]),
      name: [{ family: "Doe", given: ["Alice", "Q"] }],
      gender: "female",
      birthDate: "1980-02-14",
    });
    // Demographics are consent-checked on the way out like any record: the lab's consent covers laboratory only.
    expect((await get(`/fhir/Patient/${patients.body.entry[0].resource.id}?purpose=TREAT`, lab)).status).toBe(403);

    // text/plain is accepted too (A04 updates the same Patient record).
    const a04 = await post(hl7(msh("ADT^A04^ADT_A01", "MSG-0011"), pid(ALICE_MRN)), hospital, "text/plain");
    expect(readAck(a04.text)).toMatchObject({ code: "AA", controlId: "MSG-0011" });
    expect((await get(`/fhir/Patient?patient=${alice.address}&purpose=TREAT`, hospital)).body.entry).toHaveLength(1);

    const before = (await trail()).length;
    const notHl7 = await post("hello", hospital, "text/plain");
    expect([notHl7.status, notHl7.body.type]).toEqual([400, "urn:consentry:problem:malformed-hl7v2"]);
    expect(notHl7.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const json = await service.request({ method: "POST", url: "/hl7v2", headers: { ...hospital, "content-type": "application/json" }, payload: JSON.stringify({ message: adt }) });
    expect([json.status, json.body.type]).toEqual([415, "urn:consentry:problem:unsupported-media-type"]);
    const asPatient = await post(adt, aliceAuth);
    expect([asPatient.status, asPatient.body.type]).toEqual([403, "urn:consentry:problem:role-required"]);
    const anonymous = await post(adt, {});
    expect(anonymous.status).toBe(401);
    // The three refused attempts by signed-in callers (not HL7, wrong media type, not an institution) are in the trail.
    const refusedAtEdge = (await trail()).slice(before);
    expect(refusedAtEdge.map((e) => [e.action, e.decision])).toEqual([
      ["record.write", "rejected"],
      ["record.write", "rejected"],
      ["record.write", "rejected"],
    ]);
    // Other routes still refuse text bodies.
    const elsewhere = await service.request({ method: "POST", url: "/auth/challenge", headers: { "content-type": "text/plain" }, payload: "address=0x00" });
    expect([elsewhere.status, elsewhere.body.type]).toEqual([415, "urn:consentry:problem:unsupported-media-type"]);
  });

  it("logs what happened to each message, never names, identifiers, control ids or values", () => {
    const hl7Lines = logged.filter((l) => l.includes("HL7 v2 message") || l.includes("MLLP"));
    expect(hl7Lines.some((l) => l.includes("HL7 v2 message accepted"))).toBe(true);
    expect(hl7Lines.some((l) => l.includes("patient-not-enrolled"))).toBe(true);
    for (const secret of [ALICE_MRN, "MRN-NOBODY", "Doe", "Alice", "Springfield", "19800214", "MSG-00", "ninety", OID]) {
      expect(logged.filter((l) => l.includes(secret))).toEqual([]);
    }
  });
});

describe("MLLP framing", () => {
  it("splits a stream into messages across chunk boundaries and refuses one past the limit", () => {
    const decoder = new MllpDecoder(64);
    const bytes = Buffer.concat([Buffer.from("\n"), frame("MSH|a"), frame("MSH|b")]);
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i += 3) out.push(...decoder.push(bytes.subarray(i, i + 3)).map((b) => b.toString()));
    expect(out).toEqual(["MSH|a", "MSH|b"]);
    expect(() => decoder.push(frame("x".repeat(65)))).toThrow(/at most 64 bytes/);
  });
});
