import ipaddr from 'ipaddr.js';
import { InputError } from '../errors.js';
import { isHttp, parseUrl, type WebhookPolicy } from './webhook-options.js';

/**
 * Why a callback URL may not be used, or `undefined` when it may: not http(s), too long, with
 * credentials, matching no entry of the allowlist, or a literal address in a refused range.
 * Checked at submit, and again at delivery, where each address the host resolves to is checked
 * too (`refusedAddress`).
 */
export function refusedUrl(policy: WebhookPolicy, text: string): string | undefined {
  if (typeof text !== 'string') return 'The webhook URL must be a string.';
  if (text.length > policy.maxUrlLength) return `The webhook URL is longer than ${policy.maxUrlLength} characters.`;
  const url = parseUrl(text);
  if (!url || !isHttp(url)) return 'The webhook URL must be an absolute http or https URL.';
  if (url.username !== '' || url.password !== '') return 'The webhook URL must not carry credentials.';
  if (!allowed(policy, url)) return `The webhook destination ${url.host} is not in this system's allowlist.`;
  const literal = literalHost(url.hostname);
  // A name is judged by the addresses it resolves to, at delivery: it may resolve elsewhere by then.
  return literal === undefined ? undefined : refusedAddress(policy, literal);
}

function allowed(policy: WebhookPolicy, url: URL): boolean {
  const host = url.hostname.toLowerCase();
  if (policy.hosts.has(host)) return true;
  if (policy.suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length)) return true;
  return policy.prefixes.some((prefix) => url.href.startsWith(prefix));
}

/** Why an address may not be sent to (its range is not public unicast and not allowed), or `undefined`. */
export function refusedAddress(policy: WebhookPolicy, address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address.`;
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it is.
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? undefined : refusedRange(policy, range, address);
}

function refusedRange(policy: WebhookPolicy, range: string, what: string): string | undefined {
  if (policy.ranges.has(range)) return undefined;
  return `The webhook destination ${what} is a ${range} address, which this system does not send to.`;
}

/** The address a URL's hostname spells, if it is one (`[::1]` as `::1`). */
export function literalHost(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare)) ? bare : undefined;
}

/** The URL a submit's `webhook` option carries, checked (`WEBHOOK_REFUSED` when it may not be used). */
export function webhookUrlOf(policy: WebhookPolicy | undefined, webhook: { url: string }): string {
  if (policy === undefined) throw new InputError('WEBHOOK_REFUSED', 'This system has no webhooks configured (createJobSystem({ webhooks })).');
  const url: unknown = webhook?.url;
  const refused = refusedUrl(policy, url as string);
  if (refused !== undefined) throw new InputError('WEBHOOK_REFUSED', refused);
  return url as string;
}
