// The baseline: a bare node:http server answering a small JSON body on 127.0.0.1. Every figure in
// the benchmark is reported as a ratio to this one, measured in the same run on the same machine.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { reportFailure, reportReady, serveControl } from './control.ts';

const server = http.createServer((_request, response) => {
  const body = JSON.stringify({ hello: 'world' });
  response.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
});

serveControl(() => new Promise<void>((resolve) => server.close(() => resolve())));
server.on('error', reportFailure);
server.listen(0, '127.0.0.1', () => reportReady((server.address() as AddressInfo).port));
