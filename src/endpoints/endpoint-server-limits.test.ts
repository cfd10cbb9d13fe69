import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { createEndpointServer } from "./endpoint-server.js";
import type { EndpointDirectory } from "./endpoint-server.js";

test("a task address holds at most 64 connections to the endpoint; the others are closed at once", async () => {
  const server = createEndpointServer({} as EndpointDirectory, "router");
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const sockets = await Promise.all(
    Array.from({ length: 70 }, async () => {
      const socket = connect(port, "127.0.0.1");
      await once(socket, "connect");
      return socket;
    }),
  );
  const closed = await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 500);
          socket.once("close", () => {
            clearTimeout(timer);
            resolve(true);
          });
        }),
    ),
  );
  assert.equal(closed.filter(Boolean).length, 6);
  for (const socket of sockets) socket.destroy();
  server.close();
});
