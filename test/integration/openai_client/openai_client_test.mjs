// Drives Steward with the official `openai` npm client: chat, stream,
// completions, embeddings, models, and an auth error. Run by
// openai_client_test.sh with STEWARD_URL and STEWARD_KEY set.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';

const baseURL = process.env.STEWARD_URL + '/v1';
const client = new OpenAI({ apiKey: process.env.STEWARD_KEY, baseURL, maxRetries: 0 });

test('chat completion', async () => {
  const r = await client.chat.completions.create({
    model: 'sim-small',
    messages: [{ role: 'user', content: 'Hello from the openai client' }],
  });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.choices[0].message.content, /Simulated reply/);
  assert.ok(r.usage.total_tokens > 0);
});

test('chat completion, streamed', async () => {
  const stream = await client.chat.completions.create({
    model: 'sim-small',
    stream: true,
    messages: [{ role: 'user', content: 'Stream to me' }],
  });
  let text = '';
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.ok(chunks >= 3, `only ${chunks} chunks`);
  assert.match(text, /^Simulated reply/);
});

test('raw response carries the request id', async () => {
  const { response } = await client.chat.completions
    .create({ model: 'sim-small', messages: [{ role: 'user', content: 'id please' }] })
    .withResponse();
  assert.match(response.headers.get('x-steward-request-id'), /^req_/);
});

test('completions', async () => {
  const r = await client.completions.create({ model: 'sim-small', prompt: 'Once upon a time' });
  assert.equal(typeof r.choices[0].text, 'string');
});

test('embeddings', async () => {
  const r = await client.embeddings.create({ model: 'embed-small', input: ['one', 'two'] });
  assert.equal(r.data.length, 2);
  assert.ok(Array.isArray(r.data[0].embedding));
});

test('models', async () => {
  const page = await client.models.list();
  assert.ok(Array.isArray(page.data));
  // The test's upstream is "*": the list is what steward-sim reports.
  assert.deepEqual(page.data.map((m) => m.id).sort(), ['sim-large', 'sim-small']);
});

test('a bad key is an AuthenticationError', async () => {
  const bad = new OpenAI({ apiKey: 'sk-stw-wrong', baseURL, maxRetries: 0 });
  await assert.rejects(
    bad.chat.completions.create({ model: 'sim-small', messages: [{ role: 'user', content: 'x' }] }),
    (err) => err instanceof OpenAI.AuthenticationError && err.status === 401 && /invalid API key/.test(err.message),
  );
});
