import type { ValueTransformer } from "typeorm";

/** bigint columns as JS numbers: block numbers, unix times and sequence numbers stay far below 2^53. */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
