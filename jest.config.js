/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/service"],
  testMatch: ["**/*.test.ts", "**/*.spec.ts"],
  transform: { "^.+\\.ts$": "ts-jest" },
  // Chain and database start-up dominate; tests themselves are short. Readiness waits poll up to
  // TEST_READY_TIMEOUT_MS (test/support/ready.ts, 240 s by default, sized for a loaded CI machine): the
  // test's own timeout must leave them room.
  testTimeout: 300_000,
  // Two cores: more workers only adds contention between in-process chains and PGlite instances.
  maxWorkers: 2,
};
