/** A page of a FHIR R4 searchset: `total` counts every match the caller may see, `next` follows when more remain. */
export function pagedSearchsetBundle(
  baseUrl: string,
  resources: Array<{ resourceType: string; id?: string }>,
  page: { total: number; selfUrl: string; nextUrl?: string },
) {
  return {
    resourceType: "Bundle",
    type: "searchset",
    total: page.total,
    link: [{ relation: "self", url: page.selfUrl }, ...(page.nextUrl ? [{ relation: "next", url: page.nextUrl }] : [])],
    entry: resources.map((resource) => ({
      fullUrl: `${baseUrl}/fhir/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: "match" },
    })),
  };
}

/**
 * The URL of a search page: the request's own parameters with `_count` and `_offset` set. `path` is the
 * request path, `query` its raw query string.
 */
export function searchPageUrl(baseUrl: string, path: string, query: string, count: number, offset: number): string {
  const params = new URLSearchParams(query);
  params.set("_count", String(count));
  if (offset > 0) params.set("_offset", String(offset));
  else params.delete("_offset");
  return `${baseUrl}${path}?${params.toString()}`;
}
