/** The parts of an OpenAPI 3 document the fuzz reads: operations, their parameters and body schemas. */

export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
  $ref?: string;
  [key: string]: unknown;
}

export interface Operation {
  method: string;
  /** As the document writes it: /fhir/{type}/{id}. */
  path: string;
  pathParams: string[];
  query: Array<{ name: string; required: boolean; schema: Schema }>;
  /** The JSON body schema, $refs resolved; undefined when the operation declares none. */
  body?: Schema;
  /** Whether the document says it needs a bearer token. */
  secured: boolean;
}

interface Document {
  paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string; required?: boolean; schema?: Schema }>; requestBody?: { content?: Record<string, { schema?: Schema }> }; security?: unknown[] }>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

export function operationsOf(doc: Document): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const params = op.parameters ?? [];
      const content = op.requestBody?.content ?? {};
      const bodySchema = Object.entries(content).find(([type]) => /json/.test(type))?.[1].schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        // Nest does not list @Param() DTO fields; the template names them.
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]),
        query: params.filter((p) => p.in === "query").map((p) => ({ name: p.name, required: !!p.required, schema: resolve(doc, p.schema ?? {}) })),
        body: bodySchema ? resolve(doc, bodySchema) : undefined,
        secured: Array.isArray(op.security) && op.security.length > 0,
      });
    }
  }
  return operations;
}

/** The schema with every $ref replaced by its target (the documents here have no cycles). */
export function resolve(doc: Document, schema: Schema, depth = 0): Schema {
  if (depth > 10) return schema;
  if (schema.$ref) {
    const name = schema.$ref.replace("#/components/schemas/", "");
    return resolve(doc, doc.components?.schemas?.[name] ?? {}, depth + 1);
  }
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, resolve(doc, v, depth + 1)]));
  }
  if (schema.items) out.items = resolve(doc, schema.items, depth + 1);
  return out;
}

/** Every path of the document with the methods it is served under. */
export function methodsByPath(operations: Operation[]): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const op of operations) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op.method]);
  return byPath;
}
