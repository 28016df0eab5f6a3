/** Injection token for the loaded deployments/<network>.json. */
export const DEPLOYMENT = Symbol("DEPLOYMENT");

/** Injection token for the ethers JSON-RPC provider the service reads the chain through. */
export const CHAIN_PROVIDER = Symbol("CHAIN_PROVIDER");
