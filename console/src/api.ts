import { $, h, replace } from "./dom";

/** An answer that is not a success: the problem+json (RFC 9457) the service sent, or a transport failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly type?: string,
    /** Seconds to wait before retrying (429, 503). */
    readonly retryAfter?: number,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }

  /** The problem's slug: `urn:consentry:problem:<slug>`. */
  get slug(): string | undefined {
    return this.type?.split(":").pop();
  }
}

let token: string | undefined;
let onUnauthorized: (() => void) | undefined;

export function setToken(value: string | undefined): void {
  token = value;
}

/** Called when a signed-in request is refused with 401 (the token expired): the session ends. */
export function whenUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Send the access token (default: when signed in). */
  auth?: boolean;
  signal?: AbortSignal;
}

/** Calls the service's API; JSON in and out, problems thrown as ApiError. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options, "application/json");
  const type = response.headers.get("content-type") ?? "";
  return (type.includes("json") ? await response.json() : await response.text()) as T;
}

/** The raw response of a successful call (for downloads such as the NDJSON export). */
export async function apiRaw(path: string, options: RequestOptions = {}, accept = "*/*"): Promise<Response> {
  return send(path, options, accept);
}

async function send(path: string, options: RequestOptions, accept: string): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const withAuth = options.auth ?? !!token;
  if (withAuth && token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: "omit",
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "The service cannot be reached", "Check your connection and try again.");
  }
  if (response.ok) return response;
  throw await problemOf(response, withAuth);
}

async function problemOf(response: Response, withAuth: boolean): Promise<ApiError> {
  const retryAfter = Number(response.headers.get("retry-after")) || undefined;
  let body: { title?: string; detail?: string; type?: string } = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401 && withAuth) onUnauthorized?.();
  return new ApiError(response.status, body.title ?? `${response.status} ${response.statusText}`, body.detail, body.type, retryAfter);
}

// ---- feedback: a polite status line and an alert for errors ----

let statusTimer: ReturnType<typeof setTimeout> | undefined;

/** Announces progress or success (aria-live="polite"); clears itself after a while. */
export function say(message: string, keepMs = 8000): void {
  const status = $("#status");
  status.textContent = message;
  clearTimeout(statusTimer);
  if (keepMs > 0) statusTimer = setTimeout(() => (status.textContent = ""), keepMs);
}

/** Shows an error (role="alert"): the problem's title and detail as the service wrote them. */
export function showError(error: unknown, context?: string): void {
  const alert = $("#alert");
  const e = error instanceof ApiError ? error : null;
  const title = e ? e.title : error instanceof Error ? error.message : String(error);
  const detail = e?.detail;
  const dismiss = h("button", { type: "button", class: "secondary", "aria-label": "Dismiss the error" }, "Dismiss");
  dismiss.addEventListener("click", clearError);
  replace(
    alert,
    h(
      "div",
      {},
      context ? h("div", { class: "small muted" }, context) : null,
      h("div", { class: "problem-title" }, title),
      detail ? h("div", { class: "problem-detail" }, detail) : null,
      e?.status ? h("div", { class: "small muted" }, `HTTP ${e.status}${e.slug ? ` · ${e.slug}` : ""}`) : null,
    ),
    dismiss,
  );
  alert.hidden = false;
  $("#status").textContent = "";
}

export function clearError(): void {
  const alert = $("#alert");
  alert.hidden = true;
  alert.replaceChildren();
}

/** Runs an action, reporting its failure in the alert; returns undefined when it failed. */
export async function guarded<T>(context: string, action: () => Promise<T>): Promise<T | undefined> {
  try {
    clearError();
    return await action();
  } catch (error) {
    showError(error, context);
    return undefined;
  }
}
