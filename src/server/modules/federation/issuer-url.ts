import { isIP } from 'node:net';

/** What the federation settings say about issuers; parsed once in config.ts. */
export interface FederationSettings {
  /** `http://` issuers on a loopback address are accepted (tests only); otherwise `https://` only. */
  readonly allowLoopbackHttp: boolean;
  /** The only issuers a federated credential may name, exactly as their tokens' `iss`; null: any. */
  readonly issuers: readonly string[] | null;
}

export const DEFAULT_FEDERATION_SETTINGS: FederationSettings = Object.freeze({ allowLoopbackHttp: false, issuers: null });

const isLoopback = (hostname: string): boolean => {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
};

/**
 * Why a URL may not be fetched for an issuer's keys, or null when it may: `https://` only (the keys
 * decide who gets tokens, so they must not cross the network in the clear), `http://` only to a
 * loopback address and only when the test switch allows it; no credentials, query or fragment.
 */
export function fetchableUrlProblem(raw: string, allowLoopbackHttp: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute https:// URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && allowLoopbackHttp && isLoopback(url.hostname)) return null;
  return 'must use https://';
}

/** Why an issuer is not acceptable, or null; an issuer also has no query or fragment (OpenID Connect Discovery 1.0 §2). */
export function issuerProblem(raw: string, settings: FederationSettings): string | null {
  const problem = fetchableUrlProblem(raw, settings.allowLoopbackHttp);
  if (problem !== null) return problem;
  const url = new URL(raw);
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment';
  if (settings.issuers !== null && !settings.issuers.includes(raw)) return 'is not one of the issuers this installation trusts (KOIOS_FEDERATION_ISSUERS)';
  return null;
}
