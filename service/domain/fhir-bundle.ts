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
