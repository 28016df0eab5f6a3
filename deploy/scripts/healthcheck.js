#!/usr/bin/env node
/**
 * The service container's health check (Dockerfile HEALTHCHECK, compose.yaml): GET /health on this
 * instance, healthy only on 200. /health answers 503 when the database or chain is unreachable, the consent
 * indexer is behind, or the trail's self-check failed (service/health; an anchoring backlog alone is not
 * unhealthy). The slim runtime
 * image has no curl, so Node asks.
 */
"use strict";
const tls = Boolean(process.env.TLS_CERT_FILE && process.env.TLS_KEY_FILE);
const client = require(tls ? "node:https" : "node:http");

const request = client.get(
  {
    host: "127.0.0.1",
    port: Number(process.env.PORT || 3000),
    path: "/health",
    timeout: 4_000,
    // Our own certificate, asked for over loopback: its name is the public one, not 127.0.0.1.
    rejectUnauthorized: false,
  },
  (response) => {
    response.resume();
    process.exit(response.statusCode === 200 ? 0 : 1);
  },
);
request.on("timeout", () => request.destroy(new Error("timeout")));
request.on("error", () => process.exit(1));
