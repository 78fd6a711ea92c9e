import { createFragalysisSimulator, startTestServer, type TestServer } from '@sciport/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { FragalysisClient } from '../src/index.js';
import { findCsetTask, pageErrors, parseValidationHtml } from '../src/internal/cset-html.js';

/** The compound-set library (issue 14): the HTML it reads, and the exact-name list against an old server. */

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('compound-set HTML', () => {
  it('reads the pandas table per molecule, entities decoded, and the sentence after it', () => {
    const html =
      '<table border="1" class="dataframe"><thead><tr style="text-align: right;"><th></th><th>molecule_name</th>' +
      '<th>field</th><th>warning_string</th></tr></thead><tbody><tr><th>0</th><td>a&lt;b</td><td>ref_mols</td>' +
      '<td>x &amp; y</td></tr></tbody></table><br><p>Not validated.</p>';
    expect(parseValidationHtml(html)).toEqual({
      issues: [{ molecule: 'a<b', field: 'ref_mols', warning: 'x & y' }],
      message: 'Not validated.',
    });
  });

  it('finds the task a page embeds, and the errors of a form sent back', () => {
    expect(
      findCsetTask('<script>var u = "/viewer/upload_task/0a1b2c3d-0000-4000-a000-000000000000/";</script>'),
    ).toEqual({
      kind: 'upload',
      id: '0a1b2c3d-0000-4000-a000-000000000000',
    });
    expect(findCsetTask("validate_task_id: 'abcdef0123456789'")).toEqual({
      kind: 'validate',
      id: 'abcdef0123456789',
    });
    expect(
      pageErrors(
        '<form><ul class="errorlist"><li>You are not a member</li><li>Bad &amp; worse</li></ul></form>',
      ),
    ).toEqual(['You are not a member', 'Bad & worse']);
  });
});

describe('client.compoundSets', () => {
  it('lists by exact name even when the server ignores the filter, and reads scores', async () => {
    const sim = createFragalysisSimulator({ seed: 3, oldServer: true });
    server = await startTestServer({ handlers: sim.handlers });
    const client = new FragalysisClient({ baseUrl: server.url });
    expect((await client.compoundSets.list({ name: 'A71EV2A-set1' }).toArray()).map((s) => s.name)).toEqual([
      'A71EV2A-set1',
    ]);
    await expect(client.compoundSets.get('a71ev2a-set1')).rejects.toMatchObject({ code: 'not_found' });
    const scores = await client.compoundSets.scores('A71EV2A-set1').toArray();
    expect(scores.map((m) => m.numericalScores.docking_score)).toEqual([-5, -6.25, -7.5]);
  });

  it('refuses an upload without a token before sending anything', async () => {
    const sim = createFragalysisSimulator({ seed: 3 });
    server = await startTestServer({ handlers: sim.handlers });
    const client = new FragalysisClient({ baseUrl: server.url });
    await expect(
      client.compoundSets.startUpload({ target: 'NSP3', tas: 'lb00000-1', sdf: new Blob(['x']) }),
    ).rejects.toMatchObject({ code: 'missing_credentials' });
    expect(sim.stats.requests).toBe(0);
  });
});
