/** A NUL, or a UTF-16 surrogate without its pair: text PostgreSQL cannot store and no client means to send. */
export const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const isUnstorableText = (value: string): boolean => UNSTORABLE_TEXT.test(value);
