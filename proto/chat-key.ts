// The symmetric key of a public chat (docs/reference-wire.md §4): the reference derives it
// from the chat's name alone, so everyone who knows the name can read and write the chat —
// for a community's magnetlink channel the name is `<communityId>-magnetlinks`.
//
// PBKDF2 with HMAC-SHA-256, password = the UTF-8 bytes of the chat id, an empty salt,
// 65,356 iterations (sic: not 65,536) and a 32-byte output (an AES-256 key).

import { pbkdf2Sync } from 'node:crypto';

export const CHAT_KEY_ITERATIONS = 65_356;
export const CHAT_KEY_BYTES = 32;

/** Keys derived lately: one derivation costs tens of ms, and a node derives few chats' keys. */
const derived = new Map<string, Uint8Array>();
const REMEMBERED = 256;

export function publicChatKey(chatId: string): Uint8Array {
  const known = derived.get(chatId);
  if (known) return known.slice();
  const key = new Uint8Array(
    pbkdf2Sync(chatId, new Uint8Array(0), CHAT_KEY_ITERATIONS, CHAT_KEY_BYTES, 'sha256'),
  );
  if (derived.size >= REMEMBERED) derived.delete(derived.keys().next().value!);
  derived.set(chatId, key);
  return key.slice();
}
