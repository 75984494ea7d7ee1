// A public message as the reference's encryption layer wraps it (docs/reference-wire.md §2):
// ProtocolMessage {installation_id, bundles = [the sender's signed bundle], public_message =
// the encoded ApplicationMetadataMessage}. Pure and deterministic: the caller gives the time.
//
// Opening follows the reference's receiver: the bundles must verify (each signed by its own
// identity key) and a public message must be there. When the encryption layer fails, the
// reference logs it and hands the transport payload itself to the application layer;
// `openPublicMessage` says which of the two happened. (In practice a bare signed
// ApplicationMetadataMessage never gets this far: the segment layer before this one reads
// its signature as a message hash and its type as a segment count, and waits for the rest.)

import { DecodeError, decodeApplicationMetadataMessage } from './codec.ts';
import { decodeProtocolMessage, encodeProtocolMessage } from './envelope-codec.ts';
import { createBundle, verifyBundle } from './identity-bundle.ts';
import { SignatureError } from './signing.ts';

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/** The encoded ProtocolMessage carrying `applicationMessage` from this identity and installation. */
export function buildPublicMessage(args: {
  applicationMessage: Uint8Array;
  identityKey: Uint8Array;
  installationId: string;
  /** Unix nanoseconds: the bundle's signing time. */
  timestampNs: bigint;
}): Uint8Array {
  if (args.applicationMessage.length === 0) throw new EnvelopeError('a public message cannot be empty');
  return encodeProtocolMessage({
    installationId: args.installationId,
    bundles: [createBundle(args)],
    publicMessage: args.applicationMessage,
  });
}

export type OpenedMessage =
  | {
      kind: 'enveloped';
      applicationMessage: Uint8Array;
      installationId: string;
      /** Uncompressed identity keys of the verified bundles (the sender's, one in practice). */
      identities: Uint8Array[];
    }
  /** Not a ProtocolMessage, but the payload is itself a signed ApplicationMetadataMessage. */
  | { kind: 'bare'; applicationMessage: Uint8Array };

/**
 * The application message inside a (reassembled) transport payload; throws EnvelopeError
 * when neither the envelope opens nor the payload is a signed ApplicationMetadataMessage.
 */
export function openPublicMessage(payload: Uint8Array): OpenedMessage {
  let failure: string;
  try {
    const m = decodeProtocolMessage(payload);
    const identities = m.bundles.map((b) => verifyBundle(b));
    if (m.publicMessage.length > 0) {
      return {
        kind: 'enveloped',
        applicationMessage: m.publicMessage,
        installationId: m.installationId,
        identities,
      };
    }
    failure = m.hasEncryptedMessage ? 'a one-to-one message, not a public one' : 'no public message';
  } catch (error) {
    if (!(error instanceof DecodeError || error instanceof SignatureError)) throw error;
    failure = error.message;
  }
  // The reference's fallback: the payload goes on as the application message.
  try {
    const amm = decodeApplicationMetadataMessage(payload);
    if (amm.signature.length > 0 && amm.payload.length > 0)
      return { kind: 'bare', applicationMessage: payload };
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
  }
  throw new EnvelopeError(`not a public message: ${failure}`);
}
