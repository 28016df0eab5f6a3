import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { PROBLEM_TYPE_PREFIX } from "../common/problem";

/** Fastify's errors before routing: a URL it cannot decode (400), a path segment past its limit (414). */
export function frameworkProblem(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
  const status = tooLong ? 414 : 400;
  void reply
    .status(status)
    .header("content-type", "application/problem+json")
    .send({
      type: PROBLEM_TYPE_PREFIX + (tooLong ? "uri-too-long" : "bad-url"),
      title: tooLong ? "A path segment is too long" : "The URL is not valid",
      status,
    });
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers, a request line it
 * cannot parse, a timeout): the connection is answered with a problem and closed.
 */
export function writeClientProblem(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, slug, title] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "request-header-fields-too-large", "The request's headers are too large"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "request-timeout", "The request took too long to arrive"]
        : [400, "bad-request", "The request could not be parsed"];
  const body = JSON.stringify({ type: PROBLEM_TYPE_PREFIX + slug, title, status });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
