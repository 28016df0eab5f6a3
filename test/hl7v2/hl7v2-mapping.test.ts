import { assigningAuthoritySystem, dateTime, identifiers, parseEr7, text } from "../../service/hl7v2/er7";
import { buildAck, readAck } from "../../service/hl7v2/hl7v2-ack";
import { Hl7Failure } from "../../service/hl7v2/hl7v2-failure";
import { orderGroups, patientFromPid, resourcesOfOrder } from "../../service/hl7v2/hl7v2-mapping";

const who = { account: { system: "urn:ietf:rfc:3986", value: "did:pkh:eip155:31337:0x0000000000000000000000000000000000000001" }, custodian: "0x00000000000000000000000000000000000000aa" };
const MSH = "MSH|^~\\&|LIS|LAB|CONSENTRY|CONSENTRY|20261127101500||ORU^R01|C1|P|2.5.1";

const failureOf = (fn: () => unknown): Hl7Failure => {
  try {
    fn();
  } catch (error) {
    if (error instanceof Hl7Failure) return error;
    throw error;
  }
  throw new Error("no failure");
};

describe("HL7 v2 → FHIR mapping (pure)", () => {
  it("reads ER7 with the separators MSH declares, decodes escapes, and refuses what is not ER7", () => {
    const message = parseEr7(`MSH#$~@%#LIS#LAB\nPID#1##A1$$$H%1.2.3%ISO\r\nNTE#1##a@F@b@S@c@T@d@E@e`);
    expect(text(message.getSegment("NTE"), 3)).toBe("a#b$c%d@e");
    expect(identifiers(message.getSegment("PID"), 3)).toEqual([{ system: "urn:oid:1.2.3", value: "A1" }]);
    expect(failureOf(() => parseEr7("PID|1")).slug).toBe("not-hl7v2");
    expect(failureOf(() => parseEr7(`${MSH}\rPID|1|\u0000`)).slug).toBe("invalid-text");
    expect(failureOf(() => parseEr7(`${MSH}\rpid|1`)).slug).toBe("invalid-segment");
    expect(failureOf(() => parseEr7("MSH||||||")).slug).toBe("invalid-separators");
  });

  it("maps assigning authorities to FHIR systems and HL7 times to FHIR dateTimes", () => {
    expect(assigningAuthoritySystem("HOSP", "2.16.840.1.113883.19.5", "ISO")).toBe("urn:oid:2.16.840.1.113883.19.5");
    expect(assigningAuthoritySystem("", "https://hospital.example/mrn", "URI")).toBe("https://hospital.example/mrn");
    expect(assigningAuthoritySystem("HOSP", "", "")).toBeUndefined();
    expect(dateTime("2026", "X-1")).toBe("2026");
    expect(dateTime("20261127", "X-1")).toBe("2026-11-27");
    expect(dateTime("202611270930", "X-1")).toBe("2026-11-27"); // no zone: the date only
    expect(dateTime("20261127093015.25-0500", "X-1")).toBe("2026-11-27T09:30:15.25-05:00");
    expect(dateTime("20261127093015+0000", "X-1")).toBe("2026-11-27T09:30:15Z");
    expect(failureOf(() => dateTime("20261331", "OBX-14"))).toMatchObject({ ack: "AE", slug: "invalid-date", details: { code: "102", location: "OBX^1^14" } });
  });

  it("maps OBX value types, units, ranges, flags and statuses", () => {
    const message = parseEr7(
      [
        MSH,
        "PID|1||A1^^^&1.2.3&ISO",
        "OBR|1||F1^LAB|57021-8^CBC^LN|||20261127090000+0000|||||||||||||||||HM|P",
        "OBX|1|SN|2160-0^Creatinine^LN||<^0.5|mg/dL^^UCUM|0.6-1.2|L|||F",
        "OBX|2|CWE|600-7^Culture^LN||3092008^Staphylococcus aureus^SCT|||A|||P",
        "OBX|3|TX|11502-2^Lab report^LN||line one~line two||||||F",
        "OBX|4|NM|718-7^Hemoglobin^LN||13.5|g/dL|>12||||X",
      ].join("\r"),
    );
    const [group] = orderGroups(message);
    const { observations, report } = resourcesOfOrder(group, who, "C1");
    expect(observations.map((o) => o.status)).toEqual(["final", "preliminary", "final", "cancelled"]);
    expect(observations[0]).toMatchObject({ valueQuantity: { comparator: "<", value: 0.5, unit: "mg/dL", system: "http://unitsofmeasure.org", code: "mg/dL" }, referenceRange: [{ low: { value: 0.6 }, high: { value: 1.2 } }], interpretation: [{ coding: [{ code: "L" }] }] });
    expect(observations[1].valueCodeableConcept).toEqual({ coding: [{ system: "http://snomed.info/sct", code: "3092008", display: "Staphylococcus aureus" }], text: "Staphylococcus aureus" });
    expect(observations[2].valueString).toBe("line one\nline two");
    expect(observations[3]).toMatchObject({ valueQuantity: { value: 13.5, unit: "g/dL" }, referenceRange: [{ low: { value: 12 }, text: ">12" }] });
    expect(observations[3].valueQuantity).not.toHaveProperty("system"); // not declared UCUM
    expect(report).toMatchObject({ status: "preliminary", category: [{ coding: [{ code: "HM" }] }], effectiveDateTime: "2026-11-27T09:00:00Z" });
    // Ids are stable per custodian, order and code, and differ between custodians.
    const again = resourcesOfOrder(orderGroups(message)[0], who, "C2");
    expect(again.observations.map((o) => o.id)).toEqual(observations.map((o) => o.id));
    expect(resourcesOfOrder(orderGroups(message)[0], { ...who, custodian: "0x00000000000000000000000000000000000000bb" }, "C1").report.id).not.toBe(report.id);
    for (const o of observations) expect(o.id).toMatch(/^v2-[0-9a-f]{40}$/);
  });

  it("refuses content errors with the HL7 code and location", () => {
    const order = (obr: string, obx: string) => resourcesOfOrder(orderGroups(parseEr7([MSH, "PID|1", obr, obx].join("\r")))[0], who, "C1");
    const obr = "OBR|1||F1|57021-8^CBC^LN";
    expect(failureOf(() => order(obr, "OBX|1|NM|718-7^Hb^LN||13.5"))).toMatchObject({ ack: "AE", slug: "required-field-missing", details: { code: "101", location: "OBX^1^11" } });
    expect(failureOf(() => order(obr, "OBX|1|ED|718-7^Hb^LN||x||||||F"))).toMatchObject({ ack: "AE", slug: "unsupported-value-type", details: { location: "OBX^1^2" } });
    expect(failureOf(() => order("OBR|1||F1", "OBX|1|NM|718-7^Hb^LN||1||||||F"))).toMatchObject({ slug: "required-field-missing", details: { location: "OBR^1^4" } });
    expect(failureOf(() => order(`${obr}||||||||||||||||||||RAD`, "OBX|1|NM|718-7^Hb^LN||1||||||F"))).toMatchObject({ ack: "AR", slug: "unsupported-section" });
  });

  it("maps PID to a Patient carrying the account identifier", () => {
    const pid = parseEr7(`${MSH}\rPID|1||A1^^^H&1.2.3&ISO^MR~X9^^^LOCAL||Roe^Ann||20000101|U`).getSegment("PID")!;
    expect(patientFromPid(pid, who)).toMatchObject({
      resourceType: "Patient",
      identifier: [{ system: "urn:oid:1.2.3", value: "A1" }, who.account],
      name: [{ family: "Roe", given: ["Ann"] }],
      gender: "unknown",
      birthDate: "2000-01-01",
    });
  });

  it("builds ACKs that escape the reason and echo the control id", () => {
    const message = parseEr7(MSH);
    const ack = buildAck(message, "AE", new Hl7Failure("AE", "invalid-value", "a|b^c", { code: "102", location: "OBX^1^5" }));
    expect(readAck(ack)).toMatchObject({ code: "AE", controlId: "C1", reason: "a\\F\\b\\S\\c" });
    expect(ack.split("\r")).toHaveLength(3);
    expect(readAck(buildAck(undefined, "AR", new Hl7Failure("AR", "not-hl7v2", "no")))).toMatchObject({ code: "AR", controlId: "" });
  });
});
