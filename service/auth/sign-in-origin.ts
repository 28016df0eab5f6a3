import type { AppConfig } from "../config/app-config";
import { badRequest } from "../common/problem";

/** What an EIP-4361 message names as the party asking for the signature: wallets show it to the user. */
export interface SignInOrigin {
  /** host[:port] (RFC 3986 authority), the message's first word. */
  domain: string;
  /** The message's `URI:` line. */
  uri: string;
}

/** The parts of a request sign-in needs: the Host header and whether it arrived over TLS. */
export interface RequestOrigin {
  host: string | undefined;
  protocol: "http" | "https";
}

const HOST = /^(?<name>\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(?::(?<port>\d{1,5}))?$/;

/**
 * The origin sign-in messages name: PUBLIC_URL when set (whatever the Host header says), else the host the
 * client used — if AUTH_ALLOWED_HOSTS allows it. Another host is refused rather than echoed, so a page on
 * another site (proxying to this service) cannot obtain a challenge that names itself, which the user's
 * wallet would then accept as that site's.
 */
export function signInOrigin(config: Pick<AppConfig, "PUBLIC_URL" | "AUTH_ALLOWED_HOSTS">, request: RequestOrigin): SignInOrigin {
  if (config.PUBLIC_URL) {
    const url = new URL(config.PUBLIC_URL);
    return { domain: url.host, uri: config.PUBLIC_URL.replace(/\/+$/, "") };
  }
  const host = request.host?.trim().toLowerCase() ?? "";
  const parsed = HOST.exec(host)?.groups;
  if (!parsed || !allowedHosts(config.AUTH_ALLOWED_HOSTS).some((a) => a.name === parsed.name && (a.port === undefined || a.port === parsed.port))) {
    throw badRequest(
      "sign-in-host-not-allowed",
      "Sign-in is not offered at this host",
      "Sign-in messages name the host the client used only when AUTH_ALLOWED_HOSTS lists it (or name PUBLIC_URL when that is set)",
    );
  }
  return { domain: host, uri: `${request.protocol}://${host}` };
}

function allowedHosts(setting: string): Array<{ name: string; port?: string }> {
  return setting
    .split(",")
    .map((entry) => HOST.exec(entry.trim().toLowerCase())?.groups)
    .filter((g): g is { name: string; port?: string } => g !== undefined)
    .map((g) => ({ name: g.name, port: g.port }));
}
