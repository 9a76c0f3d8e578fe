// drand chain info and round signatures (docs/beacon.md): scheme bls-unchained-g1-rfc9380, BLS12-381
// signatures on G1 (48 bytes), keys on G2 (96 bytes), strict canonical encodings.
import { bls12_381 } from '../vendor/noble-curves/bls12-381.js';
import { Rejected, concat, equalBytes, fromHex, get, isInt, same, sha256, toHex, utf8 } from './util.js';

export const SCHEME = 'bls-unchained-g1-rfc9380';
export const LOCAL_TEST_BEACON = 'local-test-not-public';
export const QUICKNET_CHAIN_HASH = '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971';
const DST_G1 = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';

function intBytes(value, length, signed) {
  if (!isInt(value)) throw new TypeError(`${JSON.stringify(value)} is not an integer`);
  let v = BigInt(value);
  const bits = BigInt(length * 8);
  if (signed ? v < -(1n << (bits - 1n)) || v >= 1n << (bits - 1n) : v < 0n || v >= 1n << bits) {
    throw new RangeError('int too big to convert');
  }
  if (v < 0n) v += 1n << bits;
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A drand chain info, its chain hash recomputed (drand chain.Info.Hash). */
export function chainInfo(network, info) {
  const beaconId = get(get(info, 'metadata', {}), 'beaconID', get(info, 'beaconID', 'default'));
  same(`${network}: beacon ID of its chain info`, beaconId, network);
  same(`${network}: scheme`, info.schemeID, SCHEME);
  const publicKey = fromHex(info.public_key);
  const groupHash = fromHex(info.groupHash);
  const parts = [intBytes(info.period, 4, false), intBytes(info.genesis_time, 8, true), publicKey, groupHash];
  if (beaconId !== '' && beaconId !== 'default') parts.push(utf8(beaconId));
  const hash = toHex(sha256(concat(...parts)));
  if (typeof info.hash !== 'string') throw new TypeError('chain info hash is not text');
  same(`${network}: chain hash of its chain info`, hash, info.hash.toLowerCase());
  return { publicKey, period: info.period, genesisTime: info.genesis_time, hash };
}

function decodePoint(group, bytes) {
  const point = group.Point.fromBytes(bytes);
  point.assertValidity(); // on the curve and in the prime-order subgroup
  return point;
}

/** docs/beacon.md: e(signature, g2) == e(H(SHA-256(round as u64be)), public key); null if it holds. */
export function blsProblem(publicKey, round, signature) {
  let key;
  try {
    key = decodePoint(bls12_381.G2, publicKey);
  } catch {
    return "the network's public key is not a compressed G2 point of the prime-order subgroup";
  }
  if (!equalBytes(key.toBytes(true), publicKey) || key.is0()) {
    return "the network's public key is not canonical, or is the point at infinity";
  }
  let point;
  try {
    point = decodePoint(bls12_381.G1, signature);
  } catch {
    return 'the signature is not a compressed G1 point of the prime-order subgroup';
  }
  if (!equalBytes(point.toBytes(true), signature) || point.is0()) {
    return 'the signature is not canonical, or is the point at infinity';
  }
  const short = bls12_381.shortSignatures;
  const hashed = short.hash(sha256(intBytes(round, 8, false)), utf8(DST_G1));
  if (!short.verify(point, hashed, key)) {
    return `the signature does not verify for round ${round} under the network's public key`;
  }
  return null;
}

export { Rejected };
