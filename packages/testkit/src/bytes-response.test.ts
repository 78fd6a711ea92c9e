import { HttpResponse, http } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesResponse, readBody } from './bytes-response.js';
import { startTestServer, type TestServer } from './http-server.js';

const data = new TextEncoder().encode('0123456789');

function get(headers: Record<string, string> = {}, method = 'GET'): Request {
  return new Request('http://files.test/f', { method, headers });
}

async function parts(response: Response): Promise<[number, string, Record<string, string>]> {
  return [response.status, await response.text(), Object.fromEntries(response.headers)];
}

describe('bytesResponse', () => {
  it('answers 200 with the full body, Content-Length and Accept-Ranges', async () => {
    const [status, body, headers] = await parts(bytesResponse(get(), data));
    expect(status).toBe(200);
    expect(body).toBe('0123456789');
    expect(headers).toMatchObject({
      'content-length': '10',
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
    });
    expect(headers).not.toHaveProperty('content-range');
  });

  it.each([
    ['bytes=2-5', '2345', 'bytes 2-5/10'],
    ['bytes=7-', '789', 'bytes 7-9/10'],
    ['bytes=0-0', '0', 'bytes 0-0/10'],
    ['bytes=8-100', '89', 'bytes 8-9/10'],
    ['bytes=-3', '789', 'bytes 7-9/10'],
    ['bytes=-30', '0123456789', 'bytes 0-9/10'],
  ])('answers %s with 206 and Content-Range', async (range, expected, contentRange) => {
    const [status, body, headers] = await parts(bytesResponse(get({ range }), data));
    expect(status).toBe(206);
    expect(body).toBe(expected);
    expect(headers['content-range']).toBe(contentRange);
    expect(headers['content-length']).toBe(String(expected.length));
  });

  it('answers 416 with Content-Range bytes */size when the range starts past the end', async () => {
    const [status, body, headers] = await parts(bytesResponse(get({ range: 'bytes=10-' }), data));
    expect(status).toBe(416);
    expect(body).toBe('');
    expect(headers['content-range']).toBe('bytes */10');
  });

  it.each(['bytes=5-2', 'bytes=0-1,4-5', 'items=0-1', 'bytes=-', 'bytes=abc'])(
    'ignores the malformed or multi-range header %s and sends the whole body',
    async (range) => {
      const [status, body] = await parts(bytesResponse(get({ range }), data));
      expect(status).toBe(200);
      expect(body).toBe('0123456789');
    },
  );

  it('ignores Range when acceptRanges is false', async () => {
    const [status, body, headers] = await parts(
      bytesResponse(get({ range: 'bytes=2-5' }), data, { acceptRanges: false }),
    );
    expect(status).toBe(200);
    expect(body).toBe('0123456789');
    expect(headers).not.toHaveProperty('accept-ranges');
  });

  it('sends the ETag and honours If-Range only when it matches', async () => {
    const matching = bytesResponse(get({ range: 'bytes=5-', 'if-range': '"v1"' }), data, { etag: 'v1' });
    expect(await parts(matching)).toMatchObject([206, '56789', { etag: '"v1"' }]);
    const stale = bytesResponse(get({ range: 'bytes=5-', 'if-range': '"v0"' }), data, { etag: '"v1"' });
    expect(await parts(stale)).toMatchObject([200, '0123456789', { etag: '"v1"' }]);
  });

  it('uses the content type and extra headers given', async () => {
    const response = bytesResponse(get(), data, {
      contentType: 'application/zip',
      headers: { 'content-disposition': 'attachment; filename="a.zip"', 'x-extra': '1' },
    });
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="a.zip"');
    expect(response.headers.get('x-extra')).toBe('1');
  });

  it('sends headers without a body to HEAD requests', async () => {
    const response = bytesResponse(get({}, 'HEAD'), data);
    expect(response.body).toBeNull();
    expect(response.headers.get('content-length')).toBe('10');
  });
});

describe('readBody', () => {
  it('reads the whole body, or nothing', async () => {
    const body = await readBody(new Request('http://x.test/', { method: 'POST', body: data }));
    expect(new TextDecoder().decode(body)).toBe('0123456789');
    expect((await readBody(new Request('http://x.test/'))).byteLength).toBe(0);
  });
});

describe('bytesResponse over HTTP', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves ranges over a real socket (a resumed download)', async () => {
    const big = new Uint8Array(256 * 1024).map((_, i) => i % 251);
    server = await startTestServer({
      handlers: [
        http.get('*/blob', ({ request }) => bytesResponse(request, big, { etag: 'b1' })),
        http.head('*/blob', ({ request }) => bytesResponse(request, big, { etag: 'b1' })),
        http.get('*/missing', () => HttpResponse.text('no', { status: 404 })),
      ],
    });
    const first = await fetch(`${server.url}/blob`, { headers: { range: 'bytes=0-99999' } });
    expect(first.status).toBe(206);
    const head = new Uint8Array(await first.arrayBuffer());
    const rest = await fetch(`${server.url}/blob`, {
      headers: { range: 'bytes=100000-', 'if-range': '"b1"' },
    });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 100000-${big.length - 1}/${big.length}`);
    const tail = new Uint8Array(await rest.arrayBuffer());
    expect(Buffer.concat([head, tail]).equals(Buffer.from(big))).toBe(true);

    const info = await fetch(`${server.url}/blob`, { method: 'HEAD' });
    expect(info.headers.get('content-length')).toBe(String(big.length));
    expect(info.headers.get('accept-ranges')).toBe('bytes');

    const beyond = await fetch(`${server.url}/blob`, { headers: { range: `bytes=${big.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${big.length}`);
  });
});
