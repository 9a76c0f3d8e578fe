// Rivest's consistent sampler, byte for byte as docs/sampler.md specifies it (draw sampler "v1").
import { Rejected, pyCompare, sha256, toHex, utf8 } from './util.js';

/** "0." + the decimal digits of SHA-256(UTF-8(seed_hex + id)), padded to 64, reversed. */
export function ticket(seedHex, id) {
  const v = BigInt('0x' + toHex(sha256(utf8(seedHex + id))));
  return '0.' + [...v.toString().padStart(64, '0')].reverse().join('');
}

/** The first n IDs in increasing (ticket, id) order (all of them if n is null). */
export function sample(seed, ids, n = null) {
  if (new Set(ids).size !== ids.length) throw new Rejected(`sampler IDs are not distinct (seed ${JSON.stringify(seed)})`);
  const seedHex = toHex(sha256(utf8(seed)));
  const order = ids.map((id) => [ticket(seedHex, id), id]);
  // Tickets are ASCII digits (UTF-16 order is their order); equal tickets fall back to the IDs by code point.
  order.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : pyCompare(a[1], b[1])));
  const drawn = order.map((pair) => pair[1]);
  return n === null ? drawn : drawn.slice(0, Math.max(0, n));
}
