import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/** `http://127.0.0.1:PORT` where nothing listens any more: connecting is refused. */
export async function closedPortOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
