import { MAX_DEPTH, MAX_RESOURCE_BYTES } from "../../service/records/json-shape";
import { validateResource } from "../../service/records/resource-validation";
import { handMade, type Json, observation, problemOf, syntheaSample } from "./builders";

/** The invalid-resource problem `body` raises as a `type`, reduced to what clients see. */
function invalid(type: string, body: unknown) {
  const problem = problemOf(() => validateResource(type, body));
  const { type: slug, status, path, detail } = problem.toBody() as unknown as { type: string; status: number; path: string; detail: string };
  return { slug: slug.split(":").at(-1), status, path, detail };
}

const base = () => observation("laboratory");
const withoutKey = (o: Json, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

describe("structural validation", () => {
  it("refuses what the FHIR R4 definitions refuse, listing every failure with its path", () => {
    const condition = { ...syntheaSample().find((r) => r.resourceType === "Condition")!, code: "diabetes", onsetDateTime: "yesterday", bogusElement: 1 };
    const problem = problemOf(() => validateResource("Condition", condition));
    const issues = (problem.toBody() as unknown as { issues: Array<{ expression: string[]; diagnostics: string }> }).issues;
    expect(issues.map((i) => i.expression[0]).sort()).toEqual(["Condition.bogusElement", "Condition.code", "Condition.onset[x]"]);
    expect(problem.toBody()).toMatchObject({ type: "urn:consentry:problem:invalid-resource", status: 400 });
  });

  it("accepts valid resources and returns the body unchanged", () => {
    const body = base();
    expect(validateResource("Observation", body)).toBe(body);
  });

  it("refuses a body that is not a JSON object, or whose resourceType differs from the URL's", () => {
    expect(invalid("Observation", [base()])).toMatchObject({ slug: "invalid-resource", status: 400, path: "Observation" });
    expect(invalid("Observation", "{}")).toMatchObject({ path: "Observation" });
    expect(invalid("Observation", null)).toMatchObject({ path: "Observation" });
    expect(invalid("Observation", { ...base(), resourceType: "Condition" })).toMatchObject({
      path: "Observation.resourceType",
      detail: 'Observation.resourceType: must be "Observation" (got "Condition")',
    });
    expect(invalid("Observation", withoutKey(base(), "resourceType")).detail).toMatch(/got nothing/);
  });

  it("refuses an unsupported type in the URL before looking at the body", () => {
    expect(invalid("Spaceship", {}).slug).toBe("unsupported-resource-type");
    expect(invalid("Consent", {}).slug).toBe("unsupported-resource-type");
    expect(invalid("__proto__", {}).slug).toBe("unsupported-resource-type");
  });

  it.each(["", "a".repeat(65), "has space", "slash/id", "ünï"])("refuses the id %j", (id) => {
    expect(invalid("Observation", { ...base(), id })).toMatchObject({ path: "Observation.id" });
  });

  it("accepts ids of 64 letters, digits, dashes and dots", () => {
    expect(() => validateResource("Observation", { ...base(), id: "A-z.0".repeat(12) + "abcd" })).not.toThrow();
  });

  it.each([
    ["Observation", "status", "Observation.status"],
    ["Observation", "code", "Observation.code"],
    ["Observation", "category", "Observation.category"],
    ["Observation", "subject", "Observation.subject"],
  ])("refuses a %s without %s, naming %s", (type, key, path) => {
    expect(invalid(type, withoutKey(base(), key))).toMatchObject({ path });
  });

  it("names the path of required elements of each type", () => {
    const sample = syntheaSample();
    const of = (type: string) => sample.find((r) => r.resourceType === type)!;
    expect(invalid("Condition", withoutKey(of("Condition"), "subject")).path).toBe("Condition.subject");
    expect(invalid("Encounter", withoutKey(of("Encounter"), "status")).path).toBe("Encounter.status");
    expect(invalid("Encounter", withoutKey(of("Encounter"), "class")).path).toBe("Encounter.class");
    expect(invalid("AllergyIntolerance", withoutKey(of("AllergyIntolerance"), "patient")).path).toBe("AllergyIntolerance.patient");
    expect(invalid("Immunization", withoutKey(of("Immunization"), "vaccineCode")).path).toBe("Immunization.vaccineCode");
    expect(invalid("Immunization", withoutKey(of("Immunization"), "occurrenceDateTime")).path).toBe("Immunization.occurrence[x]");
    expect(invalid("MedicationRequest", withoutKey(of("MedicationRequest"), "intent")).path).toBe("MedicationRequest.intent");
    expect(invalid("DocumentReference", withoutKey(of("DocumentReference"), "content")).path).toBe("DocumentReference.content");
    expect(invalid("Patient", withoutKey(of("Patient"), "identifier")).path).toBe("Patient.identifier");
    const goal = handMade().find((r) => r.resourceType === "Goal")!;
    expect(invalid("Goal", withoutKey(goal, "description")).path).toBe("Goal.description");
  });

  it("checks required codes against FHIR's required value sets", () => {
    expect(invalid("Observation", { ...base(), status: "done" })).toMatchObject({
      path: "Observation.status",
      detail: expect.stringMatching(/not in the required value set http:\/\/hl7.org\/fhir\/ValueSet\/observation-status \(registered, preliminary, final/),
    });
    expect(invalid("Observation", { ...base(), status: 1 }).path).toBe("Observation.status");
  });

  it("refuses two variants of a choice element", () => {
    const med = handMade().find((r) => r.resourceType === "MedicationStatement")!;
    expect(invalid("MedicationStatement", { ...med, medicationReference: { reference: "Medication/m1" } }).path).toBe(
      "MedicationStatement.medication[x]",
    );
  });

  it("names the nested path of a malformed element", () => {
    const body = base();
    body.code.coding[0].code = "two  spaces";
    expect(invalid("Observation", body).path).toBe("Observation.code.coding[0].code");
    const dated = { ...handMade().find((r) => r.resourceType === "MedicationAdministration")!, effectiveDateTime: "yesterday" };
    expect(invalid("MedicationAdministration", dated).path).toBe("MedicationAdministration.effective[x]");
  });

  it("requires the patient reference to be a Reference naming a Patient", () => {
    expect(invalid("Observation", { ...base(), subject: "Patient/p1" }).path).toBe("Observation.subject");
    expect(invalid("Observation", { ...base(), subject: { display: "Jane" } })).toMatchObject({
      path: "Observation.subject",
      detail: "Observation.subject: needs a reference or an identifier",
    });
    expect(invalid("Observation", { ...base(), subject: { reference: "Group/g1", type: "Group" } }).path).toBe("Observation.subject.type");
    expect(invalid("Observation", { ...base(), subject: { identifier: { system: "urn:x" } } }).path).toBe("Observation.subject.identifier.value");
  });

  it("applies FHIR JSON rules everywhere: no nulls, empty strings, empty objects or arrays, odd keys", () => {
    expect(invalid("Observation", { ...base(), note: null }).path).toBe("Observation.note");
    expect(invalid("Observation", { ...base(), note: [{ text: "" }] }).path).toBe("Observation.note[0].text");
    expect(invalid("Observation", { ...base(), note: [{}] }).path).toBe("Observation.note[0]");
    expect(invalid("Observation", { ...base(), note: [] }).path).toBe("Observation.note");
    expect(invalid("Observation", { ...base(), "bad-key": 1 }).path).toBe("Observation.bad-key");
    expect(invalid("Observation", JSON.parse(`{"resourceType":"Observation","__proto__":{"x":1}}`)).path).toBe("Observation.__proto__");
    expect(invalid("Observation", { ...base(), valueQuantity: { value: Number.NaN } }).path).toBe("Observation.valueQuantity.value");
    expect(invalid("Observation", { ...base(), issued: new Date() }).path).toBe("Observation.issued");
    // Nulls inside arrays pad primitive extensions (FHIR JSON §2.6.2.5) and are allowed.
    const named = { resourceType: "Patient", identifier: [{ system: "urn:x", value: "1" }], name: [{ given: ["Jane", "Ann"], _given: [null, { id: "e" }] }] };
    expect(() => validateResource("Patient", named)).not.toThrow();
  });

  it("bounds size and depth", () => {
    let deep: Json = { text: "bottom" };
    for (let i = 0; i < MAX_DEPTH; i++) deep = { extension: [deep] };
    expect(invalid("Observation", { ...base(), extension: [deep] }).detail).toMatch(/nested deeper than 32 levels/);
    const big = { ...base(), note: [{ text: "x".repeat(MAX_RESOURCE_BYTES) }] };
    expect(invalid("Observation", big)).toMatchObject({ path: "Observation", detail: expect.stringMatching(/exceeds the limit of 1048576/) });
  });

  it("refuses a contained resource that is itself a record type, and accepts others", () => {
    const contained = [{ resourceType: "Patient", id: "p", identifier: [{ system: "urn:x", value: "1" }] }];
    expect(invalid("Observation", { ...base(), contained }).path).toBe("Observation.contained[0].resourceType");
    const medication = { resourceType: "Medication", id: "m", code: { text: "aspirin" } };
    expect(() => validateResource("Observation", { ...base(), contained: [medication] })).not.toThrow();
  });
});
