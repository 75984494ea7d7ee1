// Judging expectations against observations: each kind can pass and fail, and its text
// says what was expected and what happened.

import { describe, expect, it } from 'vitest';
import { evaluateExpectation, expectedViolations, type Observations } from '../scenarios/expectations.ts';
import { Expectation, ScenarioSchema } from '../scenarios/schema.ts';

const seen: Observations = {
  signals: [
    { t: 1, node: 'owner', community: 'c1', name: 'community.historyArchivesCreated' },
    { t: 2, node: 'owner', community: 'c1', name: 'community.historyArchivesCreated' },
    { t: 3, node: 'alice', community: 'c1', name: 'community.historyArchiveDownloaded' },
  ],
  members: [
    {
      node: 'alice',
      community: 'c1',
      downloaded: 2,
      imported: 1,
      messagesImported: 30,
      bytesDown: 5000,
      missingMessages: 0,
      fullHistory: true,
      member: true,
      magnetlinksReceived: 2,
      tasks: { done: 1, cancelled: 1 },
      timeToHistory: 330_000,
      importDuration: 14_000,
      importStartedAfter: 300_000,
      peakImportBytes: 100_162,
      progress: 50,
      pendingImports: 1,
      importFailures: { missingKey: 5 },
      temperature: 5,
      torrentClientFailures: 0,
    },
    {
      node: 'bob',
      community: 'c1',
      downloaded: 0,
      imported: 0,
      messagesImported: 0,
      bytesDown: 0,
      missingMessages: 10,
      fullHistory: false,
      member: true,
      magnetlinksReceived: 0,
      tasks: {},
    },
  ],
  nodeStates: { owner: 'online', alice: 'crashed' },
  rounds: [
    { community: 'c1', archives: 1 },
    { community: 'c1', archives: 4 },
    { community: 'c1', archives: 5 },
  ],
  magnetlinks: [
    { community: 'c1', sender: 'owner', accepted: true },
    { community: 'c1', sender: 'mallory', accepted: false },
  ],
  checks: {
    temperatureBounded: 'alice: 25 hot steps',
    noNodeFailure: 'ok',
    importedRangesCover: 'not checked',
  },
  checksByNode: {
    alice: { temperatureBounded: 'alice: 25 hot steps', noNodeFailure: 'ok' },
    bob: { temperatureBounded: 'ok', noNodeFailure: 'ok' },
  },
  invariants: {
    singleTask: 'ok',
    convergence: 'alice lacks 3 archived messages',
    piecesStable: 'not checked',
  },
};

const judge = (raw: unknown) => evaluateExpectation(Expectation.parse(raw), seen);

describe('expectations', () => {
  it('counts signals by name, node and community', () => {
    expect(judge({ signal: 'historyArchivesCreated', node: 'owner', count: 2 })).toEqual({
      text: 'signal community.historyArchivesCreated at owner 2 (got 2)',
      ok: true,
    });
    expect(judge({ signal: 'historyArchivesCreated', node: 'alice' }).ok).toBe(false);
    expect(judge({ signal: 'historyArchiveDownloaded', never: true }).ok).toBe(false);
    expect(judge({ signal: 'historyArchivesUnseeded', never: true }).ok).toBe(true);
    expect(judge({ signal: 'historyArchivesCreated', count: { max: 1 } })).toMatchObject({
      ok: false,
      text: expect.stringContaining('<= 1 (got 2)'),
    });
  });

  it('judges node state, sums and task ends', () => {
    expect(judge({ node: 'alice', imported: { min: 1 }, fullHistory: true, member: true }).ok).toBe(true);
    expect(judge({ node: 'alice', state: 'online' })).toEqual({
      text: 'alice: ends online (crashed)',
      ok: false,
    });
    expect(judge({ node: 'alice', tasks: { cancelled: 1, timeout: 0 } }).ok).toBe(true);
    expect(judge({ node: 'alice', tasks: { timeout: { min: 1 } } }).ok).toBe(false);
    expect(judge({ node: 'alice', magnetlinksReceived: 3 }).ok).toBe(false);
    expect(judge({ node: 'alice', text: 'alice is complete', missingMessages: 0 })).toEqual({
      text: 'alice is complete — alice: missingMessages 0 (got 0)',
      ok: true,
    });
  });

  it('judges rounds, magnetlinks and invariants', () => {
    expect(judge({ rounds: 3, archives: 5, largest: 5 }).ok).toBe(true);
    expect(judge({ rounds: 3, largest: { max: 4 } }).ok).toBe(false);
    expect(judge({ magnetlinks: 1, sender: 'mallory', accepted: false }).ok).toBe(true);
    expect(judge({ magnetlinks: 0, accepted: true }).ok).toBe(false);
    expect(judge({ invariant: 'singleTask' }).ok).toBe(true);
    expect(judge({ invariant: 'convergence' })).toEqual({
      text: 'invariant convergence holds (alice lacks 3 archived messages)',
      ok: false,
    });
    expect(judge({ invariant: 'convergence', holds: false }).ok).toBe(true);
    // an invariant nothing exercised does not count as holding
    expect(judge({ invariant: 'piecesStable' }).ok).toBe(false);
    expect(judge({ invariant: 'archiveLayout' })).toEqual({
      text: 'invariant archiveLayout was not checked',
      ok: false,
    });
  });

  it('judges durations, peaks, progress and failures measured on a node', () => {
    expect(
      judge({ node: 'alice', timeToHistory: { max: '10m' }, importStartedAfter: { min: '5m' } }),
    ).toEqual({
      text: 'alice: time to the full history <= 10m (got 5m30s); first import after its start >= 5m (got 5m)',
      ok: true,
    });
    expect(judge({ node: 'alice', importDuration: '15s' }).ok).toBe(false);
    // a node that never held the full history has no time to it, which no range accepts
    expect(judge({ node: 'bob', timeToHistory: { min: 0 } })).toEqual({
      text: 'bob: time to the full history >= 0s (got never)',
      ok: false,
    });
    expect(judge({ node: 'alice', peakImportBytes: { max: 100_000 } }).ok).toBe(false);
    expect(judge({ node: 'alice', progress: 50, pendingImports: 1, temperature: { max: 24 } }).ok).toBe(true);
    expect(judge({ node: 'alice', importFailures: { missingKey: 5, corrupt: 0 } }).ok).toBe(true);
    expect(judge({ node: 'bob', importFailures: { missingKey: { min: 1 } } }).ok).toBe(false);
    expect(judge({ node: 'alice', torrentClientFailures: 0 }).ok).toBe(true);
  });

  it('judges a check for the whole run or for one node', () => {
    expect(judge({ check: 'temperatureBounded', holds: false }).ok).toBe(true);
    expect(judge({ check: 'temperatureBounded', node: 'bob' })).toEqual({
      text: 'check temperatureBounded at bob holds (held)',
      ok: true,
    });
    expect(judge({ check: 'temperatureBounded', node: 'alice' }).ok).toBe(false);
    expect(judge({ check: 'importedRangesCover' })).toEqual({
      text: 'check importedRangesCover was not checked',
      ok: false,
    });
  });

  it('lists the invariants a scenario expects to be violated', () => {
    const scenario = ScenarioSchema.parse({
      name: 'x',
      duration: '1d',
      communities: [{ id: 'c1', chats: ['g'] }],
      nodes: [{ name: 'owner', role: 'owner' }],
      expect: [{ invariant: 'convergence', holds: false }, { invariant: 'singleTask' }],
    });
    expect([...expectedViolations(scenario)]).toEqual(['convergence']);
  });
});
