// The names of the properties an explored run is judged by (explore/property.ts).

export const PROPERTIES = [
  'dataAppendOnly',
  'piecesStable',
  'archiveLayout',
  'messagesArchivedOnce',
  'onlyControlNodeDispatches',
  'clocksMonotonic',
  'singleTask',
  'importedSubsetDownloaded',
  'convergence',
  'noMissedArchives',
  'noNodeFailure',
] as const;
export type PropertyName = (typeof PROPERTIES)[number];
