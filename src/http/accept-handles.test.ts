import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { duplicateListeningSocket } from "./accept-handles";

const busyFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

/** Opens `count` connections while the loop is blocked, then answers the loop iteration each was accepted in. */
async function acceptIterations(servers: net.Server[], port: number, count: number): Promise<number[]> {
  const acceptedIn: number[] = [];
  let iteration = 0;
  for (const server of servers) server.on("connection", (socket) => (acceptedIn.push(iteration), socket.destroy()));
  const clients = Array.from({ length: count }, () => net.connect(port, "127.0.0.1").on("error", () => {}));
  // The kernel completes loopback handshakes on its own: all of them wait in the accept queue now.
  busyFor(50);
  await new Promise<void>((resolve) => {
    const turn = () => {
      iteration += 1;
      if (acceptedIn.length === count || iteration > 100) resolve();
      else setImmediate(turn);
    };
    setImmediate(turn);
  });
  for (const client of clients) client.destroy();
  return acceptedIn;
}

describe("extra handles on a listening socket", () => {
  const opened: net.Server[] = [];
  afterEach(() => {
    for (const server of opened.splice(0)) server.close();
  });

  async function listening(): Promise<{ server: net.Server; port: number }> {
    const server = net.createServer();
    opened.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, port: (server.address() as net.AddressInfo).port };
  }

  it("accept as many queued connections per loop iteration as there are handles", async () => {
    const { server, port } = await listening();
    const handles = await duplicateListeningSocket(server, 3);
    expect(handles).toHaveLength(3);
    const extra = handles.map((handle) => net.createServer().listen(handle));
    opened.push(...extra);
    const iterations = await acceptIterations([server, ...extra], port, 8);
    expect(iterations).toHaveLength(8);
    // Four handles: eight connections in two iterations (one handle alone takes eight).
    expect(new Set(iterations).size).toBeLessThanOrEqual(3);
  });

  it("loses no connection made while they are being made (the helper process never accepts one)", async () => {
    const { server, port } = await listening();
    let accepted = 0;
    server.on("connection", (socket) => (accepted++, socket.destroy()));
    const clients: net.Socket[] = [];
    const connecting = setInterval(() => {
      for (let index = 0; index < 10; index += 1) clients.push(net.connect(port, "127.0.0.1").on("error", () => {}));
    }, 1);
    const handles = await duplicateListeningSocket(server, 3);
    clearInterval(connecting);
    const extra = handles.map((handle) => net.createServer((socket) => (accepted++, socket.destroy())).listen(handle));
    opened.push(...extra);
    // Every connection this process accepts is closed at once: wait for all of them (or give up after 3 s,
    // which is what one accepted by the helper and never answered would cost).
    const closed = (client: net.Socket) => new Promise<void>((resolve) => (client.destroyed ? resolve() : client.once("close", () => resolve())));
    await Promise.race([Promise.all(clients.map(closed)), new Promise((resolve) => setTimeout(resolve, 3_000))]);
    for (const client of clients) client.destroy();
    expect(clients.length).toBeGreaterThan(10);
    expect(accepted).toBe(clients.length);
  });

  it("without them, one connection is accepted per iteration (libuv's behaviour, which they work around)", async () => {
    const { server, port } = await listening();
    const iterations = await acceptIterations([server], port, 6);
    expect(new Set(iterations).size).toBe(6);
  });
});
