import { applyDecorators } from "@nestjs/common";
import { Transform } from "class-transformer";
import { IsEthereumAddress, IsISO8601, Matches } from "class-validator";

/**
 * An EVM account. Lower-cased before validation: a mixed-case address with a wrong EIP-55 checksum
 * would pass the validator and then make ethers' getAddress throw, turning bad input into a 500.
 */
export const IsAccount = () =>
  applyDecorators(
    Transform(({ value }) => (typeof value === "string" ? value.toLowerCase() : value)),
    IsEthereumAddress({ message: "$property must be an account address (0x followed by 40 hex digits)" }),
  );

/** An ISO 8601 instant that Date.parse reads (calendar date, optionally with a time and zone). */
export const IsInstant = () =>
  applyDecorators(
    IsISO8601({ strict: true }),
    Matches(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/, {
      message: "$property must be a date or date-time such as 2026-11-26 or 2026-11-26T08:00:00Z",
    }),
  );

/** Free text that is stored and shown back: printable, no control characters (PostgreSQL refuses NUL). */
export const IsPlainText = () =>
  Matches(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, { message: "$property must not contain control characters" });

/** A signature as hex (65-byte ECDSA, or longer for ERC-1271 smart wallets). */
export const SIGNATURE_PATTERN = /^0x[0-9a-fA-F]+$/;
