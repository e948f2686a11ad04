import { Webhook } from 'standardwebhooks';
import type { BackoffPolicy } from '../job/retry-policy.js';

/**
 * `createJobSystem({ webhooks })`: how this system signs and sends the webhooks of jobs submitted
 * with `{ webhook: { url } }` (docs/webhooks.md). Every node that runs jobs should carry the same.
 */
export interface WebhookOptions {
  /** The Standard Webhooks signing secret: `whsec_` and base64 of 24 to 64 random bytes. */
  secret: string;
  /**
   * Where webhooks may go: host names (`'hooks.example.com'`, any port; `'*.example.com'` for its
   * subdomains) or URL prefixes (`'https://api.example.com/callbacks/'`). A URL that matches none
   * is refused. An empty list refuses every webhook.
   */
  allow: readonly string[];
  /**
   * Address ranges that are refused unless named here, checked on the URL's literal address at
   * submit and on every address its host resolves to at delivery (so DNS cannot rebind a
   * public name to an internal one): `'loopback'`, `'private'`, `'linkLocal'`, `'uniqueLocal'`,
   * `'carrierGradeNat'`, `'unspecified'`, … (ipaddr.js's range names). Default none: only public
   * unicast addresses.
   */
  allowRanges?: readonly string[];
  /** Tries per webhook, the first included. Default 10. */
  attempts?: number;
  /** Waits between tries. Default exponential from 5 s, at most 1 h, with full jitter. */
  backoff?: BackoffPolicy;
  /** One try: connecting, sending and the response's head. Default 10 s. */
  timeoutMs?: number;
  /** Longest callback URL taken at submit. Default 2,048 characters. */
  maxUrlLength?: number;
  /** Bytes of a response body read (to show in a failed try's error); the rest is discarded unread. Default 1,024. */
  maxResponseBytes?: number;
}

/** `WebhookOptions` checked and with their defaults. */
export interface WebhookPolicy {
  readonly signer: Webhook;
  readonly hosts: ReadonlySet<string>;
  /** `*.example.com` as `.example.com`. */
  readonly suffixes: readonly string[];
  readonly prefixes: readonly string[];
  readonly ranges: ReadonlySet<string>;
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
  readonly timeoutMs: number;
  readonly maxUrlLength: number;
  readonly maxResponseBytes: number;
}

const defaultBackoff: BackoffPolicy = { type: 'exponential', delayMs: 5_000, maxDelayMs: 3_600_000, jitter: true };

/** Checks `createJobSystem`'s `webhooks` option (a `TypeError` naming the fault) and fills in defaults. */
export function webhookPolicy(options: WebhookOptions): WebhookPolicy {
  if (typeof options.secret !== 'string' || !options.secret.startsWith('whsec_')) {
    throw new TypeError('createJobSystem: webhooks.secret must be a Standard Webhooks secret, whsec_ and base64');
  }
  let signer: Webhook;
  try {
    signer = new Webhook(options.secret);
  } catch (cause) {
    throw new TypeError('createJobSystem: webhooks.secret is not whsec_ and base64', { cause });
  }
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  const prefixes: string[] = [];
  for (const entry of options.allow ?? []) {
    if (typeof entry !== 'string' || entry === '') throw new TypeError('createJobSystem: webhooks.allow takes host names and URL prefixes');
    if (entry.includes('://')) {
      const url = parseUrl(entry);
      if (!url || !isHttp(url) || url.search !== '' || url.hash !== '') {
        throw new TypeError(`createJobSystem: webhooks.allow: ${JSON.stringify(entry)} is not an http(s) URL prefix`);
      }
      // new URL() writes a bare origin with its '/', so 'https://a.com' never admits 'https://a.com.evil.net'.
      prefixes.push(url.href);
    } else if (entry.startsWith('*.')) {
      suffixes.push(entry.slice(1).toLowerCase());
    } else {
      hosts.add(entry.toLowerCase());
    }
  }
  const positive = (value: number | undefined, fallback: number, what: string): number => {
    if (value === undefined) return fallback;
    if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`createJobSystem: webhooks.${what} must be a positive integer`);
    return value;
  };
  return {
    signer,
    hosts,
    suffixes,
    prefixes,
    ranges: new Set(options.allowRanges ?? []),
    attempts: positive(options.attempts, 10, 'attempts'),
    backoff: options.backoff ?? defaultBackoff,
    timeoutMs: positive(options.timeoutMs, 10_000, 'timeoutMs'),
    maxUrlLength: positive(options.maxUrlLength, 2_048, 'maxUrlLength'),
    maxResponseBytes: positive(options.maxResponseBytes, 1_024, 'maxResponseBytes'),
  };
}

export function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

export function isHttp(url: URL): boolean {
  return url.protocol === 'https:' || url.protocol === 'http:';
}
