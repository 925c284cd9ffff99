import { spawn } from "node:child_process";
import type { Server } from "node:net";

/** A listening socket's libuv handle, as `server.listen(handle)` takes it. */
export interface ListeningHandle {
  close(): void;
}

/**
 * Echoes each handle it is sent back to its parent: each time the parent receives a new file descriptor
 * of the same listening socket (how Node shares a server between processes). It is sent the server's raw
 * handle, not the server: a process that receives a server listens on it, and this one would accept
 * connections it never answers.
 */
const ECHO_HANDLES = `process.on("message", (message, handle) => process.send(message, handle)); process.on("disconnect", () => process.exit(0));`;

/**
 * More handles on one listening socket, so that a busy event loop accepts several connections per turn.
 * libuv (1.45 and later, so Node 20) accepts one connection per listening handle per loop iteration; under
 * load an iteration takes tens of milliseconds, and 200 clients reconnecting at once (a network blip, a
 * deploy) waited seconds in the kernel's queue with their resumes. Answers the extra handles, for servers
 * to listen on; an empty list where handles cannot be passed (the server then accepts as before).
 */
export async function duplicateListeningSocket(server: Server, copies: number, timeoutMs = 5_000): Promise<ListeningHandle[]> {
  const raw = (server as unknown as { _handle?: ListeningHandle })._handle;
  if (copies <= 0 || !raw) return [];
  const child = spawn(process.execPath, ["-e", ECHO_HANDLES], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const handles: ListeningHandle[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no handles came back")), timeoutMs);
      child.once("error", reject);
      child.on("message", (_message, handle) => {
        handles.push(handle as unknown as ListeningHandle);
        if (handles.length === copies) {
          clearTimeout(timer);
          resolve();
        }
      });
      for (let copy = 0; copy < copies; copy += 1) child.send("listening socket", raw as never);
    });
    return handles;
  } catch {
    for (const handle of handles) handle.close();
    return [];
  } finally {
    child.kill();
  }
}
