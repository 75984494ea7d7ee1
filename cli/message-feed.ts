// Chat messages fed to a real node by `archivist node --messages <file|->`, as JSON lines in
// the format of `archive build --messages` (docs/archive.md), so that a real owner has a
// history to archive. A file is read whole before the machines start; `-` reads standard
// input line by line while the node runs (a host app or `tail -f` writing to it), and a bad
// line there is reported and skipped, never the end of the node.
//
// A message without a `hash` gets SHA-256 of its topic, timestamp, sig and payload: storage
// keys messages by hash, so the same line fed twice is stored once.

import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { UserError } from '../errors/user-error.ts';
import type { WakuMessage } from '../proto/types.ts';
import { parseMessageLine, readMessagesFile } from './commands/archive.ts';

export function withMessageKey(m: WakuMessage): WakuMessage {
  if (m.hash.length > 0) return m;
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(m.timestamp));
  const hash = createHash('sha256').update(m.topic).update(ts).update(m.sig).update(m.payload).digest();
  return { ...m, hash: new Uint8Array(hash) };
}

/** Every message of a JSON-lines file; a bad line is a UserError naming file:line. */
export function readMessageFeed(file: string): WakuMessage[] {
  return readMessagesFile(file).map(withMessageKey);
}

/**
 * Reads JSON lines from `input` until it ends: each good line goes to `onMessage`, each bad
 * one to `onBadLine` with a message naming `-:<line>`.
 */
export async function followMessageFeed(
  input: NodeJS.ReadableStream,
  onMessage: (m: WakuMessage, line: number) => void,
  onBadLine: (problem: string) => void,
): Promise<void> {
  let n = 0;
  for await (const raw of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    n++;
    const line = raw.trim();
    if (line === '') continue;
    try {
      onMessage(withMessageKey(parseMessageLine(line, `-:${n}`)), n);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      onBadLine(err.message);
    }
  }
}
