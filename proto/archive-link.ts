// What an archive link points at. The reference sends both backends' links in the same
// message (type 43, CommunityMessageArchiveLink) and in the same description clock, so the
// link itself tells which backend made it: a magnet URI, or the content id of a
// content-addressed index.
import { CID } from 'multiformats/cid';

export type ArchiveLinkKind = 'torrent' | 'cid' | 'unknown';

/** `torrent` for a magnet URI, `cid` for a string that parses as a content id, else `unknown`. */
export function archiveLinkKind(link: string): ArchiveLinkKind {
  if (/^magnet:\?/i.test(link)) return 'torrent';
  return parseContentId(link) === undefined ? 'unknown' : 'cid';
}

/** The CID of a content id string (any multibase the library knows), or undefined. */
export function parseContentId(text: string): CID | undefined {
  // A CID string is short; refusing long ones keeps hostile links from costing parse time.
  if (text.length === 0 || text.length > 512 || /\s/.test(text)) return undefined;
  try {
    return CID.parse(text);
  } catch {
    // Bare base58btc v0 ids and other multibases CID.parse declines without a prefix.
    return undefined;
  }
}
