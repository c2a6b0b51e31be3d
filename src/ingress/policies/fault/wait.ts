/**
 * An injected delay that lets go when the client does. It watches the socket, not `req`: once a body
 * has been read, `req` has already emitted 'close' (Node destroys a consumed IncomingMessage), so a
 * 'close' listener on it would never fire and the timer would outlive the client. On HTTP/1.1 a
 * client cancels a request only by closing its connection, so the socket's 'close' is exact.
 */
import type { Socket } from 'node:net';

/** Resolves `true` after `ms`, or `false` as soon as the connection closes (at once if it already has). */
export function holdUnlessClosed(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    // Global setTimeout looked up per call, so node:test's mock.timers can drive it.
    const timer = setTimeout(() => {
      socket.off('close', onClose);
      resolve(true);
    }, ms);
    socket.once('close', onClose);
  });
}
