import { spawn } from "node:child_process";
import type { Server } from "node:net";

/**
 * Echoes each server handle it is sent back to its parent: each time the parent receives a new file
 * descriptor of the same listening socket (how Node shares a server between processes).
 */
const ECHO_HANDLES = `process.on("message", (message, handle) => process.send(message, handle)); process.on("disconnect", () => process.exit(0));`;

/**
 * More handles on one listening socket, so that a busy event loop accepts several connections per turn.
 * libuv (1.45 and later, so Node 20) accepts one connection per listening handle per loop iteration; under
 * load an iteration takes tens of milliseconds, and 200 clients reconnecting at once (a network blip, a
 * deploy) waited seconds in the kernel's queue with their resumes. Answers the extra handles, each already
 * listening; an empty list where handles cannot be passed (the server then accepts as before).
 */
export async function duplicateListeningSocket(server: Server, copies: number, timeoutMs = 5_000): Promise<Server[]> {
  if (copies <= 0) return [];
  const child = spawn(process.execPath, ["-e", ECHO_HANDLES], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const handles: Server[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no handles came back")), timeoutMs);
      child.once("error", reject);
      child.on("message", (_message, handle) => {
        handles.push(handle as Server);
        if (handles.length === copies) {
          clearTimeout(timer);
          resolve();
        }
      });
      for (let copy = 0; copy < copies; copy += 1) child.send("listening socket", server);
    });
    return handles;
  } catch {
    for (const handle of handles) handle.close();
    return [];
  } finally {
    child.kill();
  }
}
