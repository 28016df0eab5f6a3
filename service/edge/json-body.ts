import type { FastifyInstance } from "fastify";
import { badRequest } from "../common/problem";
import { UNSTORABLE_TEXT } from "../domain/text";

/** Deepest nesting a JSON body may have. FHIR resources nest about a dozen levels; recursion past a few thousand overflows the stack. */
export const MAX_JSON_DEPTH = 64;


/**
 * Replaces Fastify's body parsers by one for application/json and application/fhir+json that refuses,
 * as a 400 problem, what would otherwise fail deeper as a 500: nesting past MAX_JSON_DEPTH (checked on the
 * raw text, before any recursion), `__proto__`/`constructor` keys (prototype poisoning), and text with NUL
 * or lone surrogates, in any key or value.
 */
export function installJsonBodyParser(app: FastifyInstance, bodyLimit: number): void {
  // The API speaks JSON only: any other body type is a 415, not a string a DTO then trips over.
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser(["application/json", "application/fhir+json"], { parseAs: "string", bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") throw badRequest("malformed-body", "The body is empty", "A JSON body is required");
  if (nestingExceeds(text, MAX_JSON_DEPTH)) {
    throw badRequest("body-too-deep", "The body is nested too deeply", `JSON bodies may nest at most ${MAX_JSON_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text, refusePoisonedKeys);
  } catch (error) {
    if (error instanceof PoisonedKeyError) throw badRequest("malformed-body", "The body is not acceptable JSON", error.message);
    throw badRequest("malformed-body", "Body is not valid JSON");
  }
  if (hasUnstorableText(value)) {
    throw badRequest("invalid-text", "The body contains text that cannot be stored", "Strings must not contain NUL characters or unpaired UTF-16 surrogates");
  }
  return value;
}

class PoisonedKeyError extends Error {}

function refusePoisonedKeys(key: string, value: unknown): unknown {
  if (key === "__proto__" || key === "constructor") throw new PoisonedKeyError(`The key "${key}" is not accepted`);
  return value;
}

/** Bracket depth of JSON text, outside strings, without parsing it. */
function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Walks the parsed value iteratively (its depth is bounded already). */
function hasUnstorableText(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === "string") {
      if (UNSTORABLE_TEXT.test(value)) return true;
    } else if (Array.isArray(value)) {
      stack.push(...value);
    } else if (value && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) {
        if (UNSTORABLE_TEXT.test(key)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}
