// The `content` section of a real node's configuration: the node's local store node for the
// content-addressed backend (protocol.md §11), a HeliaContentStore
// (adapters/real/helia-content-store.ts), and which backends the machines run
// (`archiveBackends`). Parsed here; host/real-node.ts builds, starts and stops the store.

import { isAbsolute, resolve } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';
import type { HeliaContentStoreOptions } from '../adapters/real/helia-content-store.ts';

export const ARCHIVE_BACKENDS = ['torrent', 'cid', 'both'] as const;
export type ArchiveBackendsSetting = (typeof ARCHIVE_BACKENDS)[number];

/**
 * Why `text` cannot name a content peer, or undefined. The store dials its peers directly
 * (no discovery) and tells them apart by peer id, so the id is required.
 */
function contentPeerProblem(text: string): string | undefined {
  try {
    const p2p = multiaddr(text)
      .getComponents()
      .filter((c) => c.name === 'p2p');
    if (p2p.length === 0 || !p2p[0]!.value) return 'no /p2p/<peer id>';
    peerIdFromString(p2p[0]!.value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const contentPeer = z.string().superRefine((text, ctx) => {
  const problem = contentPeerProblem(text);
  if (problem)
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} is not a multiaddr like /ip4/127.0.0.1/tcp/60001/p2p/12D3Koo… (${problem})`,
    });
});

export const ContentConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    /** TCP port of the store's own libp2p node (bitswap); 0 = any free port. */
    port: z.number().int().min(0).max(65535).default(0),
    /** Store nodes to dial at start and before every fetch (an owner's, other members'). */
    peers: z.array(contentPeer).default([]),
    /**
     * Folder of the blocks and pins (relative to the config file). Required: a member's
     * database records archives as downloaded, and it imports them from this store, so the
     * store must outlive a restart as the database does.
     */
    dir: z.string().min(1),
  })
  .strict();

export type ContentConfig = z.infer<typeof ContentConfigSchema>;

/**
 * The backends the machines run: the top-level `archiveBackends`, else an `archiveBackends`
 * given in `options`, else the torrent alone.
 */
export function archiveBackendsOf(config: {
  archiveBackends?: ArchiveBackendsSetting | undefined;
  options: Record<string, unknown>;
}): ArchiveBackendsSetting {
  const fromOptions = config.options.archiveBackends;
  return (
    config.archiveBackends ??
    (ARCHIVE_BACKENDS.includes(fromOptions as ArchiveBackendsSetting)
      ? (fromOptions as ArchiveBackendsSetting)
      : 'torrent')
  );
}

/** Checks that go across sections, as issues naming the field to change. */
export function contentIssues(config: {
  archiveBackends?: ArchiveBackendsSetting | undefined;
  options: Record<string, unknown>;
  content?: ContentConfig | undefined;
}): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const fromOptions = config.options.archiveBackends;
  if (fromOptions !== undefined && !ARCHIVE_BACKENDS.includes(fromOptions as ArchiveBackendsSetting))
    issues.push({
      path: ['options', 'archiveBackends'],
      message: `expected one of ${ARCHIVE_BACKENDS.join(', ')}`,
    });
  const backends = archiveBackendsOf(config);
  if (backends !== 'torrent' && !config.content)
    issues.push({
      path: ['content'],
      message: `required with archiveBackends ${backends} (the node's content store: { dir, port, peers })`,
    });
  return issues;
}

/** The store's options, paths resolved against the config file's folder. */
export function contentStoreOptions(content: ContentConfig, baseDir: string): HeliaContentStoreOptions {
  return {
    host: content.host,
    port: content.port,
    peers: [...content.peers],
    dir: isAbsolute(content.dir) ? content.dir : resolve(baseDir, content.dir),
  };
}
