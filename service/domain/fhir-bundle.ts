/** A FHIR R4 searchset Bundle. `total` counts only what is returned: withheld items are never hinted at. */
export function searchsetBundle(baseUrl: string, resources: Array<{ resourceType: string; id?: string }>, selfUrl?: string) {
  return {
    resourceType: "Bundle",
    type: "searchset",
    total: resources.length,
    ...(selfUrl ? { link: [{ relation: "self", url: selfUrl }] } : {}),
    entry: resources.map((resource) => ({
      fullUrl: `${baseUrl}/fhir/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: "match" },
    })),
  };
}

/** A FHIR R4 history Bundle: versions of one resource, newest first. */
export function historyBundle(baseUrl: string, versions: Array<{ resourceType: string; id?: string; meta?: { versionId?: string } }>) {
  return {
    resourceType: "Bundle",
    type: "history",
    total: versions.length,
    entry: versions.map((resource) => ({
      fullUrl: `${baseUrl}/fhir/${resource.resourceType}/${resource.id}`,
      resource,
      request: { method: resource.meta?.versionId === "1" ? "POST" : "PUT", url: `${resource.resourceType}/${resource.id}` },
      response: { status: resource.meta?.versionId === "1" ? "201" : "200" },
    })),
  };
}
