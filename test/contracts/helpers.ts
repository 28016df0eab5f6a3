import type {
  BaseContract,
  ContractTransactionReceipt,
  ContractTransactionResponse,
  Log,
} from "ethers";

/**
 * Assertions on transactions: the exact custom error a call reverts with, and the events a receipt holds.
 * Values are compared after normalising numbers to bigint and hex strings to lower case, so expected
 * arguments can be written as `0`, `1n`, checksummed or lower-case addresses alike.
 */

type HasInterface = Pick<BaseContract, "interface">;

/** Awaits `action` and asserts it reverted with the custom error `errorName(...args)` of `contract`. */
export async function expectRevert(
  action: Promise<unknown>,
  contract: HasInterface,
  errorName: string,
  args: readonly unknown[] = [],
): Promise<void> {
  let data: string | undefined;
  try {
    await action;
  } catch (error) {
    data = revertDataOf(error);
    if (data === undefined) throw error;
  }
  if (data === undefined) throw new Error(`Expected a revert with ${errorName}, but the call succeeded`);
  const parsed = contract.interface.parseError(data);
  if (parsed === null) throw new Error(`Expected a revert with ${errorName}, got unknown revert data ${data}`);
  expect({ error: parsed.name, args: normalize(parsed.args) }).toEqual({ error: errorName, args: normalize(args) });
}

/** Sends a transaction and waits for its receipt; throws if it reverted. */
export async function mined(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("Transaction was not mined");
  return receipt;
}

/** The arguments of every `eventName` event `contract` emitted in `receipt`, in log order. */
export function eventsOf(
  receipt: ContractTransactionReceipt,
  contract: HasInterface & { target: BaseContract["target"] },
  eventName: string,
): unknown[][] {
  const address = String(contract.target).toLowerCase();
  return receipt.logs
    .filter((log: Log) => log.address.toLowerCase() === address)
    .map((log: Log) => contract.interface.parseLog(log))
    .filter((parsed) => parsed !== null && parsed.name === eventName)
    .map((parsed) => Array.from(parsed!.args));
}

/** Asserts `receipt` holds exactly one `eventName` event of `contract`, with exactly `args`. */
export function expectEvent(
  receipt: ContractTransactionReceipt,
  contract: HasInterface & { target: BaseContract["target"] },
  eventName: string,
  args: readonly unknown[],
): void {
  const events = eventsOf(receipt, contract, eventName);
  expect({ event: eventName, emitted: normalize(events) }).toEqual({ event: eventName, emitted: [normalize(args)] });
}

/** Asserts `receipt` holds no `eventName` event of `contract`. */
export function expectNoEvent(
  receipt: ContractTransactionReceipt,
  contract: HasInterface & { target: BaseContract["target"] },
  eventName: string,
): void {
  expect({ event: eventName, emitted: eventsOf(receipt, contract, eventName) }).toEqual({ event: eventName, emitted: [] });
}

/** The selector-prefixed revert data carried by an ethers or provider error, if any. */
export function revertDataOf(error: unknown): string | undefined {
  const candidates = [
    (error as { data?: unknown })?.data,
    (error as { info?: { error?: { data?: unknown } } })?.info?.error?.data,
    (error as { error?: { data?: unknown } })?.error?.data,
  ];
  return candidates.find((c): c is string => typeof c === "string" && /^0x[0-9a-fA-F]{8}/.test(c));
}

/** Comparable form of ABI values: numbers as bigint, hex strings in lower case, results as plain arrays. */
export function normalize(value: unknown): unknown {
  if (typeof value === "number") return BigInt(value);
  if (typeof value === "string" && /^0x[0-9a-fA-F]*$/.test(value)) return value.toLowerCase();
  if (Array.isArray(value)) return Array.from(value, normalize);
  return value;
}

