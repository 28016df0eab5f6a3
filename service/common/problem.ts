import { HttpException } from "@nestjs/common";

/** Prefix of every problem `type` (RFC 9457). The slug after it is stable API: clients may branch on it. */
export const PROBLEM_TYPE_PREFIX = "urn:consentry:problem:";

/** The problem body every error response carries, as `application/problem+json`. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/**
 * An error with a stable problem type. Services throw these; the global filter renders them.
 * `slug` names the kind of problem (e.g. "invalid-signature"), `detail` this occurrence.
 */
export class Problem extends HttpException {
  constructor(
    readonly statusCode: number,
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? title, statusCode);
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: PROBLEM_TYPE_PREFIX + this.slug,
      title: this.title,
      status: this.statusCode,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

export const badRequest = (slug: string, title: string, detail?: string, ext?: Record<string, unknown>) =>
  new Problem(400, slug, title, detail, ext);
export const unauthorized = (slug: string, detail?: string) => new Problem(401, slug, "Unauthorized", detail);
export const forbidden = (slug: string, detail?: string) => new Problem(403, slug, "Forbidden", detail);
export const notFound = (slug: string, detail?: string) => new Problem(404, slug, "Not found", detail);
export const conflict = (slug: string, title: string, detail?: string) => new Problem(409, slug, title, detail);
export const unavailable = (slug: string, detail?: string, ext?: Record<string, unknown>) =>
  new Problem(503, slug, "Service unavailable", detail, ext);
