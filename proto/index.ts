export * from './archive-link.ts';
export * from './codec.ts';
export * from './hex.ts';
export * from './signing.ts';
export * from './topics.ts';
export * from './types.ts';
