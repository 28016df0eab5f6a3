import { DIRECTORY_TYPES, RESOURCE_RULES } from "../records/resource-rules";

const SEARCH_PATIENT = {
  name: "patient",
  type: "reference",
  documentation:
    "Required for a patient's data. The patient's account (0x address or did:pkh:eip155:<chain>:0x…), or an identifier the patient is enrolled with as system|value. Institutions also give purpose (a v3 PurposeOfUse code).",
};
const SEARCH_COMMON = [
  { name: "_lastUpdated", type: "date", documentation: "eq (default), ge, gt, le, lt; repeat for a range" },
  { name: "_count", type: "number", documentation: "Page size, 1-1000 (default 100); a next link follows while more remain" },
];
const READ_PARAMS = "Institutions add ?purpose= (TREAT, ETREAT with ?justification= for break-glass, HPAYMT, HOPERAT, HRESCH, PUBHLTH, PATRQT).";

/**
 * The CapabilityStatement of `GET /fhir/metadata`, built from the same tables the record store enforces
 * (resource-rules.ts), so it lists what is really served and nothing else.
 */
export function capabilityStatement(baseUrl: string) {
  const patientTypes = Object.keys(RESOURCE_RULES).sort();
  const writable = [
    { code: "read" },
    { code: "vread" },
    { code: "history-instance" },
    { code: "search-type" },
    { code: "create" },
    { code: "update" },
  ];
  const stored = (type: string, directory: boolean, alsoPatient: boolean) => ({
    type,
    versioning: "versioned-update",
    readHistory: true,
    updateCreate: true,
    conditionalCreate: false,
    conditionalUpdate: false,
    conditionalDelete: "not-supported",
    interaction: writable,
    searchParam: [...(directory && !alsoPatient ? [] : [SEARCH_PATIENT]), ...SEARCH_COMMON],
    documentation: directory
      ? alsoPatient
        ? `A patient's data (consent-checked) when it names a patient; directory data (any institution, no consent) when it does not, listed by a search without patient. ${READ_PARAMS}`
        : "Directory data: stored per custodian, read by any institution without a consent; every access is recorded in the access trail."
      : `A patient's data: every read and search is checked against the patient's consents on chain and recorded in the access trail. ${READ_PARAMS}`,
  });
  const resources = [
    ...patientTypes.map((type) => stored(type, RESOURCE_RULES[type].directoryWithoutPatient === true, true)),
    ...[...DIRECTORY_TYPES].sort().map((type) => stored(type, true, false)),
    {
      type: "Consent",
      interaction: [{ code: "read" }, { code: "search-type" }],
      searchParam: [{ name: "patient", type: "reference", documentation: "The patient's account (0x address)" }],
      documentation: "The consents recorded on chain that the caller may see. Consents are granted and revoked through POST /consents, not stored here.",
    },
    {
      type: "AuditEvent",
      interaction: [{ code: "search-type" }],
      searchParam: [{ name: "patient", type: "reference", documentation: "The patient's account (0x address)" }],
      documentation: "The access trail as IHE BALP AuditEvents, for the patient, the parties involved and regulators.",
    },
  ].sort((a, b) => a.type.localeCompare(b.type));
  return {
    resourceType: "CapabilityStatement",
    status: "active",
    date: "2026-11-27",
    publisher: "Consentry",
    kind: "instance",
    software: { name: "Consentry" },
    implementation: { description: "Consentry: a consent and audit ledger for health data, anchored on an EVM chain", url: `${baseUrl}/fhir` },
    fhirVersion: "4.0.1",
    format: ["json"],
    patchFormat: [],
    rest: [
      {
        mode: "server",
        documentation:
          "Errors are OperationOutcome resources whose issues carry the problem slug as a coding (system urn:consentry:problem). Records are encrypted per patient; no health data goes on chain.",
        security: {
          cors: false,
          description:
            "Bearer tokens from Sign-In with Ethereum (EIP-4361): POST /auth/challenge, sign, POST /auth/token. Roles (institution, patient, regulator) are read from the chain on every request.",
        },
        resource: resources,
        interaction: [{ code: "transaction", documentation: "POST /fhir with a transaction Bundle of POST and PUT entries: all or nothing; urn:uuid fullUrls are rewritten to the ids stored" }],
        operation: [
          {
            name: "import",
            definition: `${baseUrl}/docs#/fhir`,
            documentation:
              "POST /fhir/$import with application/fhir+ndjson: one resource per line, each stored on its own (ids kept), answered with a batch-response Bundle giving every line's outcome.",
          },
        ],
      },
    ],
  };
}
