/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/service"],
  testMatch: ["**/*.test.ts", "**/*.spec.ts"],
  transform: { "^.+\\.ts$": "ts-jest" },
  // Chain and database start-up dominate; tests themselves are short.
  testTimeout: 120_000,
  // Two cores: more workers only adds contention between in-process chains and PGlite instances.
  maxWorkers: 2,
};
