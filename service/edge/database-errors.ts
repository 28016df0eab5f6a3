/**
 * Whether an error means the database could not be reached or dropped the connection, as opposed to a
 * query it refused: a transient condition the caller should retry (503), not a bug (500).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown; name?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (e.driverError && e.driverError !== error && isDatabaseUnavailable(e.driverError)) return true;
  const code = typeof e.code === "string" ? e.code : "";
  // PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57P (operator
  // intervention: shutdown, crash, cannot connect now); Node socket errors.
  if (/^(08|53)/.test(code) || /^57P0[1-4]$/.test(code)) return true;
  if (["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH"].includes(code)) return true;
  const message = typeof e.message === "string" ? e.message : "";
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is not established|Cannot use a pool after calling end/i.test(
    message,
  );
}
