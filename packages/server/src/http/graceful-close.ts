// Graceful shutdown: requests in flight when close() starts get their answer with
// `Connection: close`, so their keep-alive sockets end with them and close() need not wait on
// sockets that clients keep open. (Requests that arrive after that, Fastify answers itself.)
//
// Nothing runs per response for this: each request's response is noted on its socket (one property
// write, in the global onRequest hook), and only close() looks at them.
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const CURRENT_RESPONSE = Symbol('orgplane.currentResponse');

type TrackedSocket = Socket & { [CURRENT_RESPONSE]?: FastifyReply['raw'] };

/** Returns what the onRequest hook calls for every request. */
export function closeConnectionsOnShutdown(
  app: FastifyInstance,
): (request: FastifyRequest, reply: FastifyReply) => void {
  const sockets = new Set<TrackedSocket>();
  app.server.on('connection', (socket: TrackedSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  app.addHook('preClose', (done) => {
    for (const socket of sockets) {
      const response = socket[CURRENT_RESPONSE];
      if (!response || response.writableEnded) continue;
      if (!response.headersSent) response.setHeader('connection', 'close');
      else response.once('finish', () => socket.end());
    }
    done();
  });
  return (request, reply) => {
    const socket = request.raw.socket as TrackedSocket | null;
    if (socket) socket[CURRENT_RESPONSE] = reply.raw;
  };
}
