import type { FastifyInstance } from "fastify";

/**
 * The routes the service serves, by method, recorded as Fastify registers them: tells a 404 (no such
 * path) from a 405 (the path exists under other methods, named in `Allow`, RFC 9110 §15.5.6).
 */
export class RouteIndex {
  private readonly routes: Array<{ methods: string[]; pattern: RegExp }> = [];

  /** Must be called before any route is registered. */
  static attach(app: FastifyInstance): RouteIndex {
    const index = new RouteIndex();
    app.addHook("onRoute", (route) => {
      // Catch-alls (CORS preflight's OPTIONS /*) would make every path look served.
      if (route.url.includes("*")) return;
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
      index.routes.push({ methods, pattern: patternOf(route.url) });
    });
    return index;
  }

  /** The methods `path` is served under; empty when no route matches it. */
  allowedMethods(path: string): string[] {
    const allowed = new Set<string>();
    for (const route of this.routes) if (route.pattern.test(path)) route.methods.forEach((m) => allowed.add(m));
    return [...allowed].sort();
  }
}

/** `/fhir/:type/:id` → /^\/fhir\/[^/]+\/[^/]+\/?$/. */
function patternOf(url: string): RegExp {
  const source = url
    .split("/")
    .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  // Exactly as the router matches: a trailing slash is another path.
  return new RegExp(`^${source}$`);
}
