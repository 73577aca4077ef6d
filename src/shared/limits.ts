/** Field rules shared by the server (services, REST and GraphQL schemas) and the console's forms. */
export const NAME_MAX_LENGTH = 100;
export const DESCRIPTION_MAX_LENGTH = 1000;
export const EMAIL_MAX_LENGTH = 254;
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;
export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 200;
export const BULK_MAX_IDS = 1000;
export const SEARCH_MAX_LENGTH = 200;
/** Address ranges one client may list: enough for any real network plan, few enough to read on one page. */
export const ALLOWED_CIDRS_MAX = 100;
/**
 * Rate limits a client may be given, per minute: from one, to far beyond what one client should
 * need (a million API calls is 16,000 a second; ten thousand tokens, one every 6 ms).
 */
export const REQUESTS_PER_MINUTE_MAX = 1_000_000;
export const TOKENS_PER_MINUTE_MAX = 10_000;

/** How a rate limit's problem names "no limit" in REST and GraphQL; the CLI, whose word is `none`, swaps it for its own. */
export const NULL_FOR_NO_LIMIT = 'null for no limit';

/** The problem with one rate limit (`null`: no limit), or null when it is acceptable. */
export function rateLimitProblem(value: unknown, max: number): string | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value)) return `must be a whole number, or ${NULL_FOR_NO_LIMIT}`;
  if (value < 1 || value > max) return `must be from 1 to ${max.toLocaleString('en-US')}, or ${NULL_FOR_NO_LIMIT}`;
  return null;
}
/** The longest a rotated-out secret may keep working beside the new one: 30 days, in seconds. */
export const KEEP_PREVIOUS_MAX_SECONDS = 2_592_000;
/** Public keys one private_key_jwt client may hold: enough to rotate with room to spare. */
export const CLIENT_KEYS_MAX = 10;
/** A key's kid: visible ASCII, short enough for a header and a log line. */
export const KID_MAX_LENGTH = 200;

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Control characters (C0, C1), format characters (zero-width spaces and joiners, the soft
 * hyphen, bidi marks, embeddings, overrides and isolates such as U+202E) and line or paragraph
 * separators: invisible in a name, or reordering how it reads (`\u202egnp.exe` shows as
 * `exe.png`), so two names that look alike would be different names.
 */
const INVISIBLE_OR_REORDERING = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** A display name as stored and compared: NFC (one encoding per accented letter), trimmed. */
export function normalizeName(raw: string): string {
  return raw.normalize('NFC').trim();
}

/** Returns an error message for a display name, or null when it is acceptable (after normalizing). */
export function nameProblem(raw: string): string | null {
  const name = normalizeName(raw);
  if (name.length === 0) return 'is required';
  if (name.length > NAME_MAX_LENGTH) return `must be at most ${NAME_MAX_LENGTH} characters`;
  if (INVISIBLE_OR_REORDERING.test(name)) return 'must not contain control, invisible or text-direction characters';
  return null;
}

/** Something@somewhere with no spaces; no dot required, so the operator's `admin@localhost` is one too. */
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

/** Returns an error message for an email address, or null when it is acceptable (after trimming). */
export function emailProblem(raw: string): string | null {
  const email = raw.trim();
  if (email.length === 0) return 'is required';
  if (email.length > EMAIL_MAX_LENGTH) return `must be at most ${EMAIL_MAX_LENGTH} characters`;
  if (!EMAIL_SHAPE.test(email)) return 'must be an email address';
  return null;
}

export function descriptionProblem(raw: string): string | null {
  if (raw.length > DESCRIPTION_MAX_LENGTH) return `must be at most ${DESCRIPTION_MAX_LENGTH} characters`;
  return null;
}
