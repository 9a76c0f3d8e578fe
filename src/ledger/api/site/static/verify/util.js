// Bytes, hashes, canonical JSON, times and RFC 9162 Merkle trees, as docs/verify_draw.py has them.
// Python's semantics are kept where a verdict depends on them: strings compare by code point,
// `==` is deep equality, base64 and hex are decoded strictly.
import { sha256 as nobleSha256 } from '../vendor/noble-hashes/sha2.js';
import { hmac } from '../vendor/noble-hashes/hmac.js';

/** The bundle is not what it claims; the message says where (verify_draw.Rejected). */
export class Rejected extends Error {}

export const encoder = new TextEncoder();
export const utf8 = (text) => encoder.encode(text);

export function sha256(bytes) {
  return nobleSha256(bytes);
}

export function hmacSha256(key, message) {
  return hmac(nobleSha256, key, message);
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function toHex(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** bytes.fromhex: pairs of hex digits (either case), whitespace allowed between pairs. */
export function fromHex(text) {
  if (typeof text !== 'string') throw new TypeError('fromhex() argument must be str');
  const out = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    const pair = text.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) throw new Rejected(`non-hexadecimal number found in fromhex() arg at position ${i}`);
    out.push(parseInt(pair, 16));
    i += 2;
  }
  return new Uint8Array(out);
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** base64.b64decode(text, validate=True): the standard alphabet, padded, nothing else. */
export function fromBase64(text) {
  if (typeof text !== 'string' || !B64.test(text)) throw new Rejected('not strict standard base64');
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Python's order of str (by code point, the same as by UTF-8 bytes), numbers and lists. */
export function pyCompare(a, b) {
  if (typeof a === 'string' && typeof b === 'string') {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a.charCodeAt(i);
      const y = b.charCodeAt(i);
      if (x !== y) {
        // UTF-16 order differs from code point order only where a surrogate meets a unit above it.
        const sx = x >= 0xd800 && x <= 0xdfff;
        const sy = y >= 0xd800 && y <= 0xdfff;
        if (sx !== sy) return sx ? 1 : -1;
        return x < y ? -1 : 1;
      }
    }
    return a.length - b.length;
  }
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (!pyEqual(a[i], b[i])) return pyCompare(a[i], b[i]);
    }
    return a.length - b.length;
  }
  throw new TypeError(`'<' not supported between ${describe(a)} and ${describe(b)}`);
}

export function pySorted(items) {
  if (!Array.isArray(items)) {
    if (items !== null && typeof items === 'object') return Object.keys(items).sort(pyCompare);
    throw new TypeError(`cannot sort ${describe(items)}`);
  }
  return [...items].sort(pyCompare);
}

/** Python's == on JSON values (deep). */
export function pyEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEqual(x, b[i]));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && pyEqual(a[k], b[k]));
}

function describe(value) {
  return value === null ? 'None' : Array.isArray(value) ? 'list' : typeof value;
}

export function show(value) {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function same(what, computed, recorded) {
  if (!pyEqual(computed, recorded)) throw new Rejected(`${what}: recomputed ${show(computed)}, recorded ${show(recorded)}`);
}

export function need(condition, message) {
  if (!condition) throw new Rejected(message);
}

/** Keys sorted (by code point), no spaces, no \u escapes beyond JSON's own: the bytes the ledger signs. */
export function canonicalJson(value) {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('a number that JSON cannot hold');
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  return '{' + Object.keys(value).sort(pyCompare).map((k) => JSON.stringify(k) + ':' + canonicalJson(value[k])).join(',') + '}';
}

export function isInt(value) {
  return typeof value === 'number' && Number.isInteger(value);
}

export function get(object, key, fallback) {
  return object !== null && typeof object === 'object' && !Array.isArray(object) && Object.hasOwn(object, key)
    ? object[key] : fallback;
}

// -- Times ---------------------------------------------------------------------------

const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?(Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)?$/;

function realDate(y, m, d) {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d && y >= 1;
}

/** An RFC 3339 time as the ledger writes it (UTC, `Z`): microseconds since 1970 (exact, a BigInt). */
export function moment(text) {
  const m = typeof text === 'string' ? TIME.exec(text) : null;
  if (!m) throw new Rejected(`Invalid isoformat string: ${show(text)}`);
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1, 7).map((x) => x);
  const frac = (m[7] || '').slice(0, 6).padEnd(6, '0');
  if (!realDate(+y, +mo, +d) || +h > 23 || +mi > 59 || +s > 59) throw new Rejected(`Invalid isoformat string: ${show(text)}`);
  if (m[8] === undefined) throw new Rejected(`time ${show(text)} has no time zone`);
  let offset = 0;
  if (m[8] !== 'Z') {
    const digits = m[8].replace(/:/g, '');
    const sign = digits[0] === '-' ? -1 : 1;
    offset = sign * ((+digits.slice(1, 3)) * 3600 + (+digits.slice(3, 5)) * 60 + (+digits.slice(5, 7) || 0));
  }
  const seconds = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) / 1000 - offset;
  return BigInt(seconds) * 1000000n + BigInt(frac);
}

/** Whole unix seconds of an RFC 3339 time, rounded down. */
export function unixSeconds(text) {
  const micros = moment(text);
  const q = micros / 1000000n;
  return Number(micros < 0n && q * 1000000n !== micros ? q - 1n : q);
}

export const DAY_MICROS = 86400n * 1000000n;

/** A calendar date YYYY-MM-DD (such dates compare as text). */
export function day(text, what) {
  need(typeof text === 'string' && /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(text), `${what} ${show(text)} is not a date YYYY-MM-DD`);
  need(realDate(+text.slice(0, 4), +text.slice(5, 7), +text.slice(8, 10)), `${what} ${show(text)} is not a real date`);
  return text;
}

// -- RFC 9162 Merkle trees -----------------------------------------------------------

export const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));
export const nodeHash = (left, right) => sha256(concat(new Uint8Array([1]), left, right));

/** RFC 9162 §2.1.1: the left subtree holds the largest power of two below n. */
export function merkleRoot(hashes) {
  if (hashes.length === 0) return sha256(new Uint8Array());
  if (hashes.length === 1) return hashes[0];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(merkleRoot(hashes.slice(0, k)), merkleRoot(hashes.slice(k)));
}

/** RFC 9162 §2.1.3.2: the root that `proof` leads to from leaf `index` of a tree of `size`. */
export function rootFromInclusion(leaf, index, size, proof) {
  need(isInt(index) && isInt(size) && index >= 0 && index < size, `leaf index ${index} is outside a tree of size ${size}`);
  need(proof.every((p) => p.length === 32), 'a proof hash is not 32 bytes');
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    need(sn !== 0n, 'inclusion proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  need(sn === 0n, 'inclusion proof is too short');
  return r;
}
