// Shared helpers for the gemini provider's end-to-end suites (gemini*.test.mjs): the real
// server over stdio with the official MCP client, against the in-process fake Gemini
// Interactions API (tests/fake-gemini/) and a fresh media root, configured as a user with
// only a Gemini key would configure it.
import assert from 'node:assert/strict';
import { startFakeGemini } from '../fake-gemini/server.mjs';
import { withUpstream, ok } from './video-lib.mjs';

export const GEMINI_KEY = 'gk-test-0123456789';

/**
 * Runs fn(ctx) against a fresh fake Gemini (opts.fake: its options) with GEMINI_API_KEY and
 * GEMINI_BASE_URL set and nothing else about providers; opts.env is merged over that. ctx as
 * in video-lib's withServer, fake being the fake Gemini.
 */
export async function withGemini(fn, opts = {}) {
  const fake = await startFakeGemini({ apiKey: GEMINI_KEY, ...(opts.fake || {}) });
  await withUpstream(fake, { GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: fake.url }, fn, opts);
}

/** Polls get_video_status until the status is final; returns the last Video object. */
export async function pollUntilDone(client, id, max = 20) {
  let v;
  for (let i = 0; i < max; i++) {
    v = (await ok(client, 'get_video_status', { video_id: id })).structuredContent;
    if (v.status === 'completed' || v.status === 'failed') return v;
  }
  assert.fail(`video ${id} still ${v?.status} after ${max} polls`);
}

/** The API requests the fake recorded (storage ones excluded), each checked to carry the key
 *  in the header and never in the URL. */
export function apiRequests(fake) {
  const reqs = fake.requests.filter((r) => r.origin === 'api');
  for (const r of reqs) {
    assert.equal(r.keyIn, 'header', `${r.method} ${r.path}: the key travels in x-goog-api-key`);
    assert.equal(r.query.key, undefined, `${r.method} ${r.path}: no key in the URL`);
  }
  return reqs;
}
