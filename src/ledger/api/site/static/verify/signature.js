// Ed25519 signatures of the actors' commands: the browser's WebCrypto, or noble's ed25519 where the
// browser has none (both RFC 8032 strict: no non-canonical encodings).
import { ed25519 } from '../vendor/noble-curves/ed25519.js';

let engine = null;

async function webCryptoHasEd25519() {
  try {
    // RFC 8032 test 1's public key: any browser with Ed25519 imports it.
    const key = Uint8Array.from(atob('11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='), (c) => c.charCodeAt(0));
    await crypto.subtle.importKey('raw', key, { name: 'Ed25519' }, false, ['verify']);
    return true;
  } catch {
    return false;
  }
}

/** 'WebCrypto' or 'noble' (once per page). */
export async function ed25519Engine() {
  if (engine === null) engine = (await webCryptoHasEd25519()) ? 'WebCrypto' : 'noble';
  return engine;
}

/** True iff `signature` is `publicKey`'s Ed25519 signature of `message` (bad keys are not). */
export async function verifyEd25519(publicKey, signature, message) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  if ((await ed25519Engine()) === 'WebCrypto') {
    try {
      const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
      return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
    } catch {
      return false;
    }
  }
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** For tests: force one engine ('WebCrypto' or 'noble'). */
export function useEd25519Engine(name) {
  engine = name;
}
