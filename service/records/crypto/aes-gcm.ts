import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export interface Sealed {
  iv: Buffer;
  authTag: Buffer;
  ciphertext: Buffer;
}

/** Thrown when a ciphertext, its key or its associated data do not match: never a wrong plaintext. */
export class IntegrityError extends Error {
  override name = "IntegrityError";
}

/** AES-256-GCM with a fresh random 96-bit IV per message (NIST SP 800-38D §8.2.2; far below 2^32 messages per key). */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, authTag: cipher.getAuthTag(), ciphertext };
}

/** Decrypts and authenticates; throws IntegrityError (with `what` in its message) if anything was altered. */
export function open(key: Buffer, sealed: Sealed, aad: Buffer, what: string): Buffer {
  try {
    if (sealed.iv.length !== IV_BYTES || sealed.authTag.length !== TAG_BYTES) throw new Error("bad lengths");
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.authTag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    throw new IntegrityError(`${what} failed authentication: its ciphertext, key or bound metadata were altered`);
  }
}

/** Associated data as a JSON array: unambiguous whatever the fields contain, unlike a joined string. */
export const associatedData = (...fields: Array<string | number>): Buffer => Buffer.from(JSON.stringify(fields), "utf8");
