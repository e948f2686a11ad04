import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { literalHost, refusedAddress } from './webhook-destination.js';
import type { WebhookPolicy } from './webhook-options.js';

/** A destination refused at delivery: the URL's host resolved to an address in a refused range. */
export class DestinationRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefusedError';
  }
}

export interface WebhookResponse {
  status: number;
  /** At most `maxResponseBytes` of the body, as text. */
  body: string;
}

/**
 * One POST, bounded every way: `timeoutMs` for the whole exchange (with `signal`: the attempt's
 * cancel or shutdown), a response body read up to `maxResponseBytes` and the connection then
 * dropped, no redirects followed, a fresh connection each time. The connection goes to an
 * address the policy allows: a literal address is checked here, and a host name's addresses are
 * checked inside the connection's own DNS lookup, so the address checked is the address
 * connected to (a name that resolves to a public address at submit and to 10.0.0.1 now — DNS
 * rebinding — is refused now).
 */
export function postWebhook(
  policy: WebhookPolicy,
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<WebhookResponse> {
  const literal = literalHost(url.hostname);
  const refused = literal === undefined ? undefined : refusedAddress(policy, literal);
  if (refused !== undefined) return Promise.reject(new DestinationRefusedError(refused));
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    agent: false,
    lookup: checkedLookup(policy),
    signal: AbortSignal.any([signal, AbortSignal.timeout(policy.timeoutMs)]),
  };
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (response) => {
      readBounded(response, policy.maxResponseBytes).then((text) => resolve({ status: response.statusCode ?? 0, body: text }), reject);
    });
    request.once('error', reject);
    request.end(body);
  });
}

function checkedLookup(policy: WebhookPolicy): LookupFunction {
  return (hostname, options: LookupOptions, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      // Every address: a name that answers with one public and one internal address is refused.
      for (const { address } of addresses) {
        const refused = refusedAddress(policy, address);
        if (refused !== undefined) return callback(new DestinationRefusedError(`${hostname}: ${refused}`), '', 0);
      }
      if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new DestinationRefusedError(`${hostname} resolved to no address.`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** The body up to `max` bytes; the rest is not read (the connection is dropped). */
function readBounded(response: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => resolve(Buffer.concat(chunks).subarray(0, max).toString('utf8'));
    response.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= max) {
        response.destroy();
        done();
      }
    });
    response.once('end', done);
    response.once('error', (error) => (size >= max ? done() : reject(error)));
  });
}
